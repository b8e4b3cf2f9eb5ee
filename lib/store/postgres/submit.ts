import type pg from 'pg';
import type { Clock } from '../../clock.js';
import { ConfigError, ParentNotHeldError, UnknownParentError } from '../../errors.js';
import { newJobId } from '../../ids.js';
import { DEFAULT_WORKSPACE, type JobRecord, type JobSpec, type Json, type Outcome } from '../../types.js';
import { flowColumns, flowColumnValues } from '../flow-control.js';
import { attemptsAllowed, heldBy, replays, runsAgain, takenAtOnce } from '../policy.js';
import { newJobColumns, outcomeColumns, toJobRecord, type JobRow, type NewJobColumns } from '../rows.js';
import type { ClaimAtOnce, EnqueueResult, HeldLease } from '../store.js';
import type { JobInserts } from './inserts.js';
import type { Change } from './notifications.js';
import { one, transaction } from './query.js';
import { PREVIOUS_ATTEMPT_CODE_SQL, RECORD_SQL, RUN_AGAIN_SQL } from './sql.js';

/** What submitting a job takes from the store: its pool, its batched inserts and its announcer. */
export interface SubmitContext {
  pool: pg.Pool;
  inserts: JobInserts;
  announce: (change: Change) => void;
  clock: Clock;
}

/**
 * A new job, or the one its idempotency key or call key already names. Two servers submitting
 * the same key or call end with one job: the database's unique indexes decide. With
 * `parentHeld`, the insert itself checks the parent's lease (INSERT_SQL).
 */
export async function enqueue(
  ctx: SubmitContext,
  spec: JobSpec,
  claim?: ClaimAtOnce,
  parentHeld?: HeldLease,
): Promise<EnqueueResult> {
  // The insert checks the parent's lease in the child's workspace; elsewhere, or where it may
  // find a job recorded before, the parent is read and checked first.
  if (
    parentHeld &&
    (spec.idempotencyKey !== undefined || parentHeld.workspace !== (spec.workspace ?? DEFAULT_WORKSPACE))
  ) {
    await checkParent(ctx.pool, spec, parentHeld);
  }
  if (spec.idempotencyKey !== undefined) {
    const seen = await byIdempotencyKey(ctx.pool, spec);
    if (seen) return { job: seen, created: false };
    try {
      return await insert(ctx, spec, claim, parentHeld);
    } catch (err) {
      // A concurrent submission with the same key won the race: it is the job.
      const again = (err as { code?: string }).code === '23505' ? await byIdempotencyKey(ctx.pool, spec) : undefined;
      if (again) return { job: again, created: false };
      throw err;
    }
  }
  return insert(ctx, spec, claim, parentHeld);
}

/**
 * Throws UnknownParentError for a missing parent and, given `held`, ParentNotHeldError for one
 * not held so; returns the parent's place.
 */
async function checkParent(
  db: pg.Pool | pg.PoolClient,
  spec: JobSpec,
  held?: HeldLease,
): Promise<{ root_job: string; path: string }> {
  const parentJob = spec.parentJob!;
  const parent = await one<JobRow>(db, 'SELECT * FROM jobs WHERE id = $1', [parentJob]);
  if (!parent) throw new UnknownParentError(parentJob);
  if (held && !heldBy(parent, held)) throw new ParentNotHeldError(parentJob, held.workerId, held.attempt);
  return parent;
}

async function byIdempotencyKey(pool: pg.Pool, spec: JobSpec): Promise<JobRecord | undefined> {
  const row = await one<JobRow>(pool, 'SELECT * FROM jobs WHERE workspace = $1 AND idempotency_key = $2', [
    spec.workspace ?? DEFAULT_WORKSPACE,
    spec.idempotencyKey,
  ]);
  return row && toJobRecord(row);
}

async function insert(
  ctx: SubmitContext,
  spec: JobSpec,
  claim?: ClaimAtOnce,
  parentHeld?: HeldLease,
): Promise<EnqueueResult> {
  const now = ctx.clock.now();
  // A cached call is recorded already succeeded; one whose call key is taken goes the usual way
  // (replay, or a failed call run again).
  const hit = spec.parentJob && spec.callKey ? await cacheHit(ctx.pool, spec, now) : undefined;
  if (hit) {
    const cached = await record(
      ctx,
      { ...spec, parentJob: spec.parentJob!, callKey: spec.callKey! },
      { status: 'success', result: JSON.parse(hit.result!) as Json },
      now,
      now,
      { cachedFrom: hit.id, parentHeld },
    );
    if (cached.created) return cached;
  }
  const taken = claim && takenAtOnce(spec) ? claim : undefined;
  const ended = taken?.ended;
  // A child that ran before it was recorded: created when its worker took it; recorded ended
  // only under the parent that worker holds.
  const createdAt = taken?.takenAt ?? now;
  const parentLease: HeldLease | undefined =
    parentHeld ??
    (ended && spec.parentJob
      ? { workerId: taken!.workerId, attempt: ended.parentAttempt, workspace: spec.workspace ?? DEFAULT_WORKSPACE }
      : undefined);
  const scheduledFor = spec.scheduledFor ?? createdAt + (spec.delayMs ?? 0);
  const c = newJobColumns(spec, spec.id ?? newJobId());
  // In INSERT_COLUMN_TYPES' order.
  const values = [
    ...leadingValues(c),
    spec.parentJob ?? null,
    spec.callKey ?? null,
    attemptsAllowed(spec),
    spec.retry ? JSON.stringify(spec.retry) : null,
    spec.timeout ?? null,
    createdAt,
    scheduledFor,
    spec.idempotencyKey ?? null,
    ...flowColumnValues(flowColumns(spec)),
    // Taken at once by the worker that asks (a new job only: nothing is inserted for a recorded call).
    ...(taken ? [taken.workerId, createdAt + taken.leaseMs] : [null, null]),
    parentLease?.workerId ?? null,
    parentLease?.attempt ?? null,
    ...(ended ? [ended.startedAt ?? ended.at, ended.at, JSON.stringify(ended.result)] : [null, null, null]),
  ];
  // The common case in one statement: a new job, its place taken from its parent. Nothing
  // inserted means the call is already recorded, or the parent is missing (or not held): the
  // slow path below tells which.
  const row = await ctx.inserts.insert(values);
  if (row) {
    if (row.status === 'queued') ctx.announce({ k: 'q', due: scheduledFor });
    if (row.status === 'success') ctx.announce({ k: 'f', ids: [row.id] });
    return { job: toJobRecord(row), created: true };
  }
  const parentJob = spec.parentJob;
  if (!parentJob) throw new ConfigError(`Job ${c.id} could not be recorded`);
  return transaction(ctx.pool, ctx.announce, async (tx, notify): Promise<EnqueueResult> => {
    await checkParent(tx, spec, parentLease);
    const existing = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2 FOR UPDATE', [
      spec.parentJob,
      spec.callKey,
    ]);
    // The job that held the call key was rolled back between our insert and this look: again.
    if (!existing) return enqueue(ctx, spec, claim, parentHeld);
    const previous = await one<{ code: string | null }>(tx, PREVIOUS_ATTEMPT_CODE_SQL, [spec.parentJob]);
    if (runsAgain(existing, replays(previous?.code))) {
      const again = await one<JobRow>(tx, RUN_AGAIN_SQL, [existing.id, attemptsAllowed(spec), now]);
      notify({ k: 'q', due: now });
      return { job: toJobRecord(again!), created: true };
    }
    return { job: toJobRecord(existing), created: false };
  });
}

/** A call recorded already finished (a step), or the one already recorded at its key. */
export async function record(
  ctx: SubmitContext,
  spec: JobSpec & { parentJob: string; callKey: string },
  outcome: Outcome,
  startedAt: number,
  at: number,
  /** The job whose result this one reuses (the cache), and the parent's lease its caller holds. */
  { cachedFrom, parentHeld }: { cachedFrom?: string; parentHeld?: HeldLease } = {},
): Promise<EnqueueResult> {
  return transaction(ctx.pool, ctx.announce, async (tx, notify): Promise<EnqueueResult> => {
    const parent = await checkParent(tx, spec, parentHeld);
    const c = newJobColumns(spec, spec.id ?? newJobId());
    const { result, error } = outcomeColumns(outcome);
    const inserted = await one<JobRow>(tx, RECORD_SQL, [
      ...leadingValues(c),
      outcome.status,
      spec.parentJob,
      parent.root_job,
      `${parent.path}/${c.id}`,
      spec.callKey,
      startedAt,
      at,
      result,
      error,
    ]);
    if (inserted) {
      notify({ k: 'f', ids: [inserted.id] });
      if (cachedFrom === undefined) return { job: toJobRecord(inserted), created: true };
      const f = flowColumns(spec);
      const marked = await one<JobRow>(
        tx,
        `UPDATE jobs SET cached_from = $2, priority = $3, concurrency_key = $4, concurrency_limit = $5, concurrency_window_ms = $6,
                         rate_key = $7, rate_limit = $8, rate_per_ms = $9, cache_key = $10, cache_ttl_ms = $11
         WHERE id = $1 RETURNING *`,
        [inserted.id, cachedFrom, ...flowColumnValues(f)],
      );
      return { job: toJobRecord(marked!), created: true };
    }
    const existing = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2', [
      spec.parentJob,
      spec.callKey,
    ]);
    return { job: toJobRecord(existing!), created: false };
  });
}

/** A new job's first eight values, in INSERT_COLUMN_TYPES' (and RECORD_SQL's) order. */
function leadingValues(c: NewJobColumns): unknown[] {
  return [c.id, c.workspace, c.kind, c.script_path, c.script_hash, c.entrypoint, c.args, c.tag];
}

/**
 * The latest successful run of an equal call within the TTL (store/flow-control.ts cacheKey),
 * for a spec that asks for the cache; undefined otherwise.
 */
async function cacheHit(pool: pg.Pool, spec: JobSpec, now: number): Promise<JobRow | undefined> {
  const ttl = spec.flowControl?.cacheTtlMs;
  if (ttl === undefined || ttl <= 0) return undefined;
  return one<JobRow>(
    pool,
    `SELECT * FROM jobs WHERE cache_key = $1 AND status = 'success' AND cached_from IS NULL AND completed_at >= $2
     ORDER BY completed_at DESC LIMIT 1`,
    [flowColumns(spec).cache_key, now - ttl],
  );
}
