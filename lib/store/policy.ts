import { CanceledError, LeaseExpiredError, ReleasedError } from '../errors.js';
import { errorRecordOf } from '../error-record.js';
import {
  jobName,
  type ErrorRecord,
  type JobFilter,
  type JobKind,
  type JobRecord,
  type JobSpec,
  type JobStatus,
} from '../types.js';
import type { HeldLease } from './store.js';

/**
 * What every store decides the same way, whatever its SQL: which earlier attempts make a
 * re-run a replay, when a recorded call runs again, the error records of a lost lease and of
 * a cancel, a job's place in its run, and what a `list` filter asks for. A store renders
 * these in its own dialect; the rule itself lives here once.
 */

/**
 * Whether a new job may be taken by a worker as it is inserted (Store.enqueue's `claim`): one
 * due now, of a kind that runs code, with no concurrency or rate key to admit it by. Its
 * priority does not count: the worker that asks has a slot free for it now.
 */
export function takenAtOnce(spec: JobSpec): boolean {
  const f = spec.flowControl;
  return (
    (spec.kind === 'task' || spec.kind === 'script') &&
    spec.scheduledFor === undefined &&
    !spec.delayMs &&
    !f?.concurrency &&
    !f?.rateLimit
  );
}

/** Codes of attempts that ended through no fault of the job's (its worker died, its thread was replaced): the next one replays. */
export const REPLAY_CODES: readonly string[] = [LeaseExpiredError.code, ReleasedError.code];

/**
 * Whether a parent runs again to replay (its last attempt was lost with its worker or its
 * thread), rather than because it failed: a replay gets the calls it made as they ended,
 * failures included, where a retry runs its failed calls again. `code` is the error code of
 * the parent's previous attempt (none: it had none, or it ended without a code).
 */
export function replays(previousAttemptCode: string | null | undefined): boolean {
  return previousAttemptCode != null && REPLAY_CODES.includes(previousAttemptCode);
}

/**
 * Whether a call already recorded at its key runs again when its parent makes it again: only
 * a failed or canceled child, and only when the parent retries (not when it replays). It runs
 * as further attempts of the same job; its earlier ones stay recorded.
 */
export function runsAgain(recorded: { status: string }, parentReplays: boolean): boolean {
  return (recorded.status === 'failure' || recorded.status === 'canceled') && !parentReplays;
}

export { attemptsAllowed } from '../types.js';

/**
 * Whether a job (a record or a row: the same four fields) is held by `held`: running that
 * attempt on that worker in that workspace. The rule every store's lease check renders.
 */
export function heldBy(
  job: { status: string; worker: string | null | undefined; attempt: number | string; workspace: string },
  held: HeldLease,
): boolean {
  return (
    job.status === 'running' &&
    job.worker === held.workerId &&
    Number(job.attempt) === held.attempt &&
    job.workspace === held.workspace
  );
}

/** The error a canceled job and its attempt record. */
export function canceledError(reason: string): ErrorRecord {
  return errorRecordOf(CanceledError, reason);
}

/** The error an attempt records when its worker stopped renewing its lease. */
export function leaseLostError(job: Pick<JobRecord, 'worker' | 'attempt'>): ErrorRecord {
  return errorRecordOf(
    LeaseExpiredError,
    `Worker ${job.worker} stopped renewing its lease on attempt ${job.attempt} (it died or lost contact)`,
  );
}

/** The error a job fails with when its lease was lost `lostSoFar` times, the most allowed. */
export function leaseLimitError(lost: ErrorRecord, lostSoFar: number): ErrorRecord {
  return {
    ...lost,
    message: `${lost.message}. Its workers were lost ${lostSoFar} times, the most allowed, so the job failed.`,
  };
}

/** A job's place in its run: its path of ids from the root, and the name its lines carry in its ancestors' logs. */
export interface Place {
  path: string;
  name: string;
}

/** The columns a place is made from. */
export interface PlaceRow {
  path: string;
  kind: string;
  entrypoint: string;
  script_path: string;
}

/** Cached places of running jobs, for forwarding log lines. A place never changes, so the cache needs no invalidation, only a bound. */
export class PlaceCache {
  private readonly places = new Map<string, Place>();

  get(jobId: string): Place | undefined {
    return this.places.get(jobId);
  }

  /** Keeps a job's place, made from its row, and returns it. */
  remember(jobId: string, row: PlaceRow): Place {
    const place = {
      path: row.path,
      name: jobName({ kind: row.kind as JobKind, entrypoint: row.entrypoint, scriptPath: row.script_path }),
    };
    // A bound, not an LRU: the places of the jobs that log are refetched at one query each.
    if (this.places.size > 10_000) this.places.clear();
    this.places.set(jobId, place);
    return place;
  }

  /** A finished job logs no more. */
  forget(jobId: string): void {
    this.places.delete(jobId);
  }
}

/** One condition of a `list`, in the order the filter's fields are read. */
export type ListTerm =
  | { op: 'in'; column: 'id' | 'status'; values: readonly string[] }
  | { op: 'eq'; column: 'workspace' | 'tag' | 'script_path' | 'parent_job' | 'root_job'; value: string }
  | { op: 'isNull'; column: 'parent_job' }
  | { op: 'lt'; column: 'created_at'; value: number };

/** A `list` filter as conditions, a limit, an offset and an order: empty fields ask for nothing, the limit defaults to 50. */
export function listQuery(filter: JobFilter): {
  terms: ListTerm[];
  limit: number;
  offset: number;
  order: 'DESC' | 'ASC';
} {
  const terms: ListTerm[] = [];
  if (filter.ids) terms.push({ op: 'in', column: 'id', values: filter.ids });
  if (filter.workspace) terms.push({ op: 'eq', column: 'workspace', value: filter.workspace });
  if (filter.status?.length) terms.push({ op: 'in', column: 'status', values: filter.status satisfies JobStatus[] });
  if (filter.tag) terms.push({ op: 'eq', column: 'tag', value: filter.tag });
  if (filter.scriptPath) terms.push({ op: 'eq', column: 'script_path', value: filter.scriptPath });
  if (filter.parentJob) terms.push({ op: 'eq', column: 'parent_job', value: filter.parentJob });
  if (filter.rootJob) terms.push({ op: 'eq', column: 'root_job', value: filter.rootJob });
  if (filter.rootsOnly) terms.push({ op: 'isNull', column: 'parent_job' });
  if (filter.before !== undefined) terms.push({ op: 'lt', column: 'created_at', value: filter.before });
  return {
    terms,
    limit: filter.limit ?? 50,
    offset: filter.offset ?? 0,
    order: filter.order === 'oldest' ? 'ASC' : 'DESC',
  };
}
