import type { Clock } from '../../clock.js';
import { ParentNotHeldError, UnknownParentError } from '../../errors.js';
import { newJobId } from '../../ids.js';
import { DEFAULT_WORKSPACE, type JobRecord, type JobSpec, type Outcome } from '../../types.js';
import { flowColumns } from '../flow-control.js';
import { attemptsAllowed, replays, runsAgain, takenAtOnce } from '../policy.js';
import { newJobColumns, outcomeColumns, toJobRecord, type JobRow } from '../rows.js';
import type { ClaimAtOnce, EnqueueResult, HeldLease } from '../store.js';
import { holds } from './leases.js';
import type { Statements } from './statements.js';
import type { TickCommit } from './tick-commit.js';

/** What submitting a job takes from the store: its statements and its clock. Each call runs inside a write. */
export interface SubmitContext {
  stmt: Statements;
  clock: Clock;
}

/**
 * A new job, or the one its idempotency key or call key already names; inside a write, so the
 * parent's lease (`parentHeld`) checked first still holds as the job is recorded.
 */
export function enqueueJob(
  ctx: SubmitContext,
  spec: JobSpec,
  claim?: ClaimAtOnce,
  parentHeld?: HeldLease,
): EnqueueResult {
  const { stmt } = ctx;
  // A child that ran before it was recorded is recorded only under the parent its worker holds.
  if (claim?.ended && !parentHeld && spec.parentJob)
    parentHeld = {
      workerId: claim.workerId,
      attempt: claim.ended.parentAttempt,
      workspace: spec.workspace ?? DEFAULT_WORKSPACE,
    };
  if (parentHeld && spec.parentJob && !holds(stmt, spec.parentJob, parentHeld)) {
    if (!stmt.get.get(spec.parentJob)) throw new UnknownParentError(spec.parentJob);
    throw new ParentNotHeldError(spec.parentJob, parentHeld.workerId, parentHeld.attempt);
  }
  if (spec.idempotencyKey !== undefined) {
    const existing = stmt.byIdempotencyKey.get(spec.workspace ?? DEFAULT_WORKSPACE, spec.idempotencyKey) as
      JobRow | undefined;
    if (existing) return { job: toJobRecord(existing), created: false };
  }
  if (spec.parentJob && spec.callKey) {
    const existing = stmt.byCallKey.get(spec.parentJob, spec.callKey) as JobRow | undefined;
    if (existing && runsAgain(existing, parentReplays(stmt, spec.parentJob))) {
      const again = stmt.runAgain.get({
        id: existing.id,
        extra: attemptsAllowed(spec),
        now: ctx.clock.now(),
      }) as JobRow;
      return { job: toJobRecord(again), created: true };
    }
    if (existing) return { job: toJobRecord(existing), created: false };
  }
  // A job its submitter's worker takes at once is inserted taken, as a claim would leave it
  // (claim.ts): never queued, it is never in the queued jobs' indexes, which would cost their
  // pages in the commit for an entry put in and taken out again.
  const taken = claim && takenAtOnce(spec) && cacheTtl(spec) === undefined ? claim : undefined;
  if (taken) return { job: insertTaken(ctx, spec, taken), created: true };
  const job = insertOrReuse(ctx, spec);
  if (!claim || job.status !== 'queued' || !takenAtOnce(spec)) return { job, created: true };
  return { job: claimNew(ctx, job, claim), created: true };
}

/**
 * A job inserted running, taken by `claim`'s worker: its first attempt, claimed as it is
 * created; with `claim.ended`, ended too, in the same write (its end as Store.finish records
 * one, its start with it). Inside a write.
 */
function insertTaken(ctx: SubmitContext, spec: JobSpec, claim: ClaimAtOnce): JobRecord {
  const { ended } = claim;
  const job = insertJob(ctx, spec, 'running', claim, claim.takenAt);
  ctx.stmt.insertAttempt.run({
    job_id: job.id,
    attempt: job.attempt,
    worker: claim.workerId,
    claimed_at: job.createdAt,
  });
  if (!ended) return job;
  const end = { id: job.id, status: 'success', result: JSON.stringify(ended.result), error: null, at: ended.at };
  const started = ended.startedAt ?? ended.at;
  const row = ctx.stmt.finishStarted.get({ ...end, started }) as JobRow;
  ctx.stmt.attemptDoneStarted.run({ ...end, attempt: job.attempt, started });
  return toJobRecord(row);
}

/** A job just inserted queued (a call that may reuse a cached result), taken by `claim`'s worker as a claim takes one; inside a write. */
function claimNew(ctx: SubmitContext, job: JobRecord, claim: ClaimAtOnce): JobRecord {
  const row = ctx.stmt.claimOne.get({
    id: job.id,
    worker: claim.workerId,
    lease_until: job.createdAt + claim.leaseMs,
  }) as JobRow;
  ctx.stmt.insertAttempt.run({
    job_id: row.id,
    attempt: row.attempt,
    worker: claim.workerId,
    claimed_at: job.createdAt,
  });
  return toJobRecord(row);
}

/** The cache TTL of a submission the result cache may answer (a call, as on PostgreSQL), else undefined. */
function cacheTtl(spec: JobSpec): number | undefined {
  const ttl = spec.flowControl?.cacheTtlMs;
  return ttl !== undefined && ttl > 0 && spec.parentJob && spec.callKey ? ttl : undefined;
}

/** A call recorded already finished (a step), unless its call key is recorded; inside a write. */
export function recordCall(
  ctx: SubmitContext,
  spec: JobSpec & { parentJob: string; callKey: string },
  outcome: Outcome,
  startedAt: number,
  at: number,
): EnqueueResult {
  const { stmt } = ctx;
  const existing = stmt.byCallKey.get(spec.parentJob, spec.callKey) as JobRow | undefined;
  if (existing) return { job: toJobRecord(existing), created: false };
  const job = insertJob(ctx, spec, 'running');
  stmt.firstAttempt.run({ id: job.id, at: startedAt });
  const row = stmt.finish.get({
    id: job.id,
    status: outcome.status,
    ...outcomeColumns(outcome),
    at,
  }) as JobRow;
  return { job: toJobRecord(row), created: true };
}

/** Inserts a job; a call whose equal earlier call succeeded within its cache TTL is recorded already succeeded, from that one. */
function insertOrReuse(ctx: SubmitContext, spec: JobSpec): JobRecord {
  const job = insertJob(ctx, spec, 'queued');
  const ttl = cacheTtl(spec);
  if (ttl === undefined) return job;
  const key = flowColumns(spec).cache_key;
  const hit = ctx.stmt.cached.get(key, job.createdAt - ttl) as JobRow | undefined;
  if (!hit) return job;
  const row = ctx.stmt.insertCached.get({
    id: job.id,
    result: hit.result,
    from: hit.id,
    now: job.createdAt,
  }) as JobRow;
  return toJobRecord(row);
}

/** Whether the parent replays (see policy.replays), from the code of its previous attempt. */
function parentReplays(stmt: Statements, parentJob: string): boolean {
  return replays((stmt.previousAttemptError.get(parentJob) as { code: string | null } | undefined)?.code);
}

/** Inserts a job row; inside a write. */
function insertJob(
  ctx: SubmitContext,
  spec: JobSpec,
  status: 'queued' | 'running',
  taken?: ClaimAtOnce,
  /** Its creation, where it is not now (a child that ran before it was recorded). */
  createdAt?: number,
): JobRecord {
  const id = spec.id ?? newJobId();
  let rootJob = id;
  let path = id;
  if (spec.parentJob) {
    const parent = ctx.stmt.place.get(spec.parentJob) as { root_job: string; path: string } | undefined;
    if (!parent) throw new UnknownParentError(spec.parentJob);
    rootJob = parent.root_job;
    path = `${parent.path}/${id}`;
  }
  const now = createdAt ?? ctx.clock.now();
  const row = ctx.stmt.insert.get({
    ...newJobColumns(spec, id),
    status,
    idempotency_key: spec.idempotencyKey ?? null,
    parent_job: spec.parentJob ?? null,
    root_job: rootJob,
    path,
    call_key: spec.callKey ?? null,
    max_attempts: attemptsAllowed(spec),
    retry: spec.retry ? JSON.stringify(spec.retry) : null,
    timeout_s: spec.timeout ?? null,
    created_at: now,
    scheduled_for: spec.scheduledFor ?? now + (spec.delayMs ?? 0),
    ...flowColumns(spec),
    worker: taken?.workerId ?? null,
    lease_until: taken ? now + taken.leaseMs : null,
    attempt: taken ? 1 : 0,
  }) as JobRow;
  return toJobRecord(row);
}

/**
 * A child taken at once goes to its worker before the turn's commit, with the commit to come
 * (EnqueueResult's `committed`): the child runs while it is written. Any other answer of a
 * claiming enqueue (a call already recorded, a child that must queue) comes after the commit,
 * as every write's does.
 */
export async function takenBeforeCommit(commits: TickCommit, written: Promise<EnqueueResult>): Promise<EnqueueResult> {
  const result = await written;
  const committed = commits.committed();
  if (result.created && result.job.status === 'running') return { ...result, committed };
  await committed;
  return result;
}
