import type { LiveCount, PruneReport, PruneRequest, SchemaState } from './operations.js';
import type {
  RunTrace,
  JobProgress,
  AttemptRecord,
  ErrorRecord,
  EventRecord,
  JobFilter,
  QueueSummary,
  TokenRecord,
  WorkerRecord,
  JobRecord,
  JobSpec,
  Json,
  LogLine,
  NewLogLine,
  Outcome,
} from '../types.js';
import type { NewSchedule, ScheduleRecord } from '../types.js';

/** A worker taking a job as it is inserted (Store.enqueue): the child of a job it runs, into the slot its parent frees. */
export interface ClaimAtOnce {
  workerId: string;
  /** The lease ends this long after the insert unless heartbeats renew it. */
  leaseMs: number;
  /**
   * When the worker took it, where that was before this write (a child that ran before it was
   * recorded: worker/unrecorded-children.ts): its creation, due time and claim. @default now
   */
  takenAt?: number;
  /**
   * The child already ran on this worker, before anything of it was written, and succeeded
   * (worker/unrecorded-children.ts): it is inserted finished, its attempt with it, in one write.
   * Only under a parent the worker holds at `parentAttempt`; else ParentNotHeldError, and
   * nothing is recorded.
   */
  ended?: TakenEnd;
}

/** How a child taken at once ended before it was recorded (ClaimAtOnce's `ended`): a success, its times the worker's. */
export interface TakenEnd {
  result: Json;
  /** When its code began, where the executor said so before it ended. */
  startedAt?: number;
  at: number;
  /** The attempt of the parent the worker holds. */
  parentAttempt: number;
}

/**
 * A worker's hold on a job, as a write on its behalf names it: the worker, the attempt its claim
 * gave it, and the workspace it asks in. A write given one changes the job only while the job
 * is running that attempt on that worker in that workspace, checked in the write itself (no
 * read before it, and no other writer between the check and the change).
 */
export interface HeldLease {
  workerId: string;
  attempt: number;
  workspace: string;
}

/** Which jobs a worker may claim. */
export interface ClaimRequest {
  workerId: string;
  /** The tags the worker serves, or 'all' (the embedded worker). */
  tags: readonly string[] | 'all';
  /** Only jobs of these runs (the embedded engine runs only the runs it started). A live set:
   *  a claim that waits sees runs added while it waits. */
  rootJobs?: ReadonlySet<string>;
  workspace?: string;
  limit: number;
  /** The lease ends this long after the claim unless heartbeats renew it. */
  leaseMs: number;
  /**
   * The claimer lives in another process (a worker over HTTP): the claim resolves only once it
   * is committed. Otherwise a crash of this process between the answer and the commit would
   * leave the job queued while that worker runs it, and another would run it again. A claimer
   * in this process dies with it, so it need not wait.
   */
  durable?: boolean;
  /**
   * Hears of jobs the claim held back until a time (a rate limit, a full concurrency window):
   * their new due time, so the caller can wake its claims then. Jobs held back by a running
   * limit need no call: a job that finishes wakes the claims.
   */
  onDeferred?: (dueAt: number) => void;
  /**
   * Priority aging (docs/flow-control.md#priority): a job due this long ago or longer is claimed
   * before every job due since, whatever their priorities, the oldest first; so a stream of
   * higher-priority jobs holds a lower one back for this long at most. Infinity turns it off.
   * @default DEFAULT_PRIORITY_AGING_MS (store/flow-control.ts: 5 minutes)
   */
  priorityAgingMs?: number;
}

export interface EnqueueResult {
  job: JobRecord;
  /** False when (parentJob, callKey) was already recorded and that job is returned instead. */
  created: boolean;
  /**
   * A job taken at once (`enqueue`'s claim) may be returned before its write is committed, so
   * its worker starts it meanwhile: this settles with that commit, and rejects when it failed
   * (the job was never recorded). Absent when the write was committed before the answer.
   * Nothing is lost to a crash before the commit that a caller heard of: the child's caller
   * hears only of its end, which is committed after it, and a parent run again calls it again.
   */
  committed?: Promise<void>;
}

export interface CancelRequest {
  reason: string;
  /** Who asked: a token's owner, 'cli', 'parent'. */
  by: string;
}

export interface ExpiredLeases {
  /** Jobs put back in the queue for another attempt. */
  requeued: JobRecord[];
  /** Jobs that had no attempts left and are now failed. */
  failed: JobRecord[];
}

/**
 * A change written through another Store on the same database (another server), as
 * `Store.subscribe` reports it. It carries ids only: a listener reads what it needs.
 */
export type StoreChange =
  /** Jobs were queued (new, retried, or returned by a lease sweep); due at `dueAt` (ms). */
  | { kind: 'queued'; dueAt: number }
  /** A job began running. */
  | { kind: 'started'; jobIds: readonly string[] }
  /** Lines were appended to these jobs' logs (a job's own, and its ancestors' copies). */
  | { kind: 'logs'; jobIds: readonly string[] }
  /** These jobs finished (success, failure, canceled). */
  | { kind: 'finished'; jobIds: readonly string[] }
  /** The feed of changes was interrupted (a lost connection): anything may have changed. */
  | { kind: 'resync' };

/** What became of an event sent to a job (`Store.sendEvent`). */
export type EventDelivery =
  /** A wait of its name was queued: it took the event and is now finished (its result is the payload). */
  | { status: 'delivered'; wait: JobRecord }
  /** No wait of its name yet: kept for the next one. */
  | { status: 'kept' }
  /** There is no such job. */
  | { status: 'unknown' }
  /** The job has finished: nothing was recorded. */
  | { status: 'finished'; job: JobRecord };

/** A numbered schema change. Never edit one that has shipped: add the next number. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** What `migrate` did to a store's schema (`millrace migrate`). */
export interface MigrationReport {
  /** Versions applied by this call, in order. */
  applied: number[];
  /** The schema's version afterwards. */
  version: number;
}

/**
 * Where jobs, logs and results live. Domain verbs only: the engine and the worker never see
 * SQL. Every implementation passes the suite in __tests__/store/conformance.ts.
 */
export interface Store {
  /**
   * Persists a new queued job. When `spec.parentJob` and `spec.callKey` name a job already
   * recorded, returns that job with `created: false` (durable replay, invariant 6), unless
   * that job failed or was canceled: then it is queued again for more attempts
   * (`created: true`), so a retried parent gets a fresh run of the call that failed.
   * Likewise a spec with an `idempotencyKey` already seen in its workspace returns the job
   * first submitted with it (`created: false`).
   *
   * With `claim`, a job this call inserts is taken by that worker in the same write when
   * `takenAtOnce(spec)` (policy.ts): running, attempt 1, its attempt recorded as a claim's
   * is. A job already recorded, run again or answered from the cache is as without it. With
   * `claim.ended`, such a job is inserted already succeeded (its attempt too), under a parent
   * held by that worker at `ended.parentAttempt` (ParentNotHeldError otherwise).
   *
   * With `parentHeld`, the call is made by the worker that holds the parent's lease: the
   * store checks it in the write and throws ParentNotHeldError, recording nothing, when the
   * parent is not held so (missing, in another workspace, finished, or another attempt's).
   */
  enqueue(spec: JobSpec, claim?: ClaimAtOnce, parentHeld?: HeldLease): Promise<EnqueueResult>;

  /**
   * The child recorded for a call of `parentJob` (durable replay reads it before running a
   * `step` again).
   */
  findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined>;

  /**
   * Records a child that finished without being queued (a `step`, run inline by its parent),
   * with its outcome. When (parentJob, callKey) is already recorded, returns that job with
   * `created: false` and records nothing: the first record stands.
   */
  record(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<EnqueueResult>;

  /**
   * Claims up to `limit` due queued jobs, marks them running and leases them. Order: highest
   * priority first, then oldest (first due, then first submitted). Jobs whose
   * concurrency key is at its limit, or whose rate key or window forbids a start now, are
   * skipped, atomically with taking the others: limits hold across every claimer of the
   * database (docs/flow-control.md).
   */
  claim(request: ClaimRequest): Promise<JobRecord[]>;

  /**
   * Records when an executor actually began the job. Returns whether it was recorded: false when
   * the job is not running (or, given `held`, not held so).
   */
  markStarted(jobId: string, at: number, held?: HeldLease): Promise<boolean>;

  /** Extends the leases of a worker's jobs. Returns the ids among them that are no longer its to run. */
  renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]>;

  /**
   * Records how a running job ended. Returns the record, or undefined when the job had
   * already finished (a canceled job whose worker reports late, say): the first word stands.
   * With `startedAt`, the job's start and its attempt's are recorded in the same write where
   * none was yet: a short job's worker holds its start back and sends it with its end
   * (worker/held-starts.ts). Given `held`, it is undefined too when the job is not held so.
   */
  finish(
    jobId: string,
    outcome: Outcome,
    at: number,
    startedAt?: number,
    held?: HeldLease,
  ): Promise<JobRecord | undefined>;

  /**
   * Puts a running job back in the queue for its next attempt, due at `scheduledFor`, after a
   * failed one that ended at `at` (the attempt's recorded end, as `finish` records it).
   */
  retry(jobId: string, error: ErrorRecord, at: number, scheduledFor: number): Promise<JobRecord | undefined>;

  /**
   * Puts a running job back in the queue through no fault of its own (its executor thread was
   * replaced because another job on it timed out; its worker shut down): the attempt is
   * recorded as failed with `error`, and the job gets one more attempt for it.
   * Returns undefined when the job was not running.
   */
  release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined>;

  /** Cancels a job and every unfinished descendant. Returns the jobs it canceled. */
  cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]>;

  /**
   * Returns jobs whose leases ran out to the queue. A lost lease is the worker's fault, not the
   * job's: the job gets one more attempt for it (its max attempts grow by one), until it has
   * lost `maxLostLeases` leases; then it fails with LeaseExpiredError.
   */
  expireLeases(now: number, maxLostLeases: number): Promise<ExpiredLeases>;

  get(jobId: string): Promise<JobRecord | undefined>;
  /** Ids that start with `prefix` (people type the short ids they see), newest first. */
  matchIds(prefix: string, limit: number): Promise<string[]>;
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** Every attempt of a job, first first. */
  attempts(jobId: string): Promise<AttemptRecord[]>;
  /** The job's descendants (not the job itself), oldest first. */
  descendants(jobId: string): Promise<JobRecord[]>;

  /**
   * Appends lines to a job's log and forwards a copy of each to every ancestor's log, marked
   * with this job (invariant 5). Returns every line written, so followers can be woken.
   */
  appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<LogLine[]>;

  /**
   * One page of a job's log (its own lines and its descendants' forwarded ones): the lines
   * after cursor `after` (a seq; @default 0), in seq order, at most `limit` of them
   * (@default 10_000). A reader walks a long log by passing the last seq it got as `after`,
   * until a page comes back empty; it never holds more than one page.
   */
  readLogs(jobId: string, options?: { after?: number; limit?: number; ownOnly?: boolean }): Promise<LogLine[]>;

  /** Queued and running counts per tag and per flow-control key of a workspace. */
  queue(workspace: string): Promise<QueueSummary>;

  /** Records what a flow job knows of its modules (its flow status), replacing what was recorded. */
  setFlowStatus(jobId: string, status: Json): Promise<void>;
  /** A flow job's recorded flow status; undefined when none was recorded. */
  getFlowStatus(jobId: string): Promise<Json | undefined>;

  /**
   * Sends an event to a job, in one transaction that the job's other event verbs serialise
   * with: the oldest queued wait child of that name takes it (finished with the payload as its
   * result), else it is kept for the next wait of that name.
   */
  sendEvent(jobId: string, name: string, payload: Json, at: number): Promise<EventDelivery>;
  /**
   * For a wait child just queued: takes the oldest event of its name kept for its parent, and
   * finishes the wait with it. Undefined when none was kept (or the wait is no longer queued).
   */
  takeEvent(waitJobId: string, at: number): Promise<JobRecord | undefined>;
  /** The events sent to a job, taken or kept, oldest first. */
  events(jobId: string): Promise<EventRecord[]>;
  /**
   * The key that signs resume URLs (approvals): made at random the first time it is asked
   * for, then the same for every server on this database.
   */
  signingSecret(): Promise<string>;

  /** Stores a token (its hash only). */
  createToken(token: TokenRecord): Promise<void>;
  /** The token with this hash, revoked or not. */
  findToken(tokenHash: string): Promise<TokenRecord | undefined>;
  /** Every token, revoked ones included, oldest first. */
  listTokens(): Promise<TokenRecord[]>;
  /** How many tokens were ever made, revoked ones included. */
  countTokens(): Promise<number>;
  /** Marks a token revoked at `at`. False when there is no such token or it was revoked already. */
  revokeToken(tokenHash: string, at: number): Promise<boolean>;
  /** Records that a token was accepted at `at` (a later time only: the latest use stands). */
  touchToken(tokenHash: string, at: number): Promise<void>;

  /** Records that a worker is alive, with the tags it serves. */
  touchWorker(worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>, now: number): Promise<void>;
  /** Workers heard from since `since`, each with the jobs it runs now. */
  listWorkers(workspace: string, since: number): Promise<WorkerRecord[]>;

  /** Records a new schedule, active from `at`. ScheduleExistsError when its name is taken in its workspace. */
  createSchedule(schedule: NewSchedule, at: number): Promise<ScheduleRecord>;
  getSchedule(workspace: string, name: string): Promise<ScheduleRecord | undefined>;
  /** The schedules of a workspace (of every workspace when undefined), by name. */
  listSchedules(workspace?: string): Promise<ScheduleRecord[]>;
  /**
   * Pauses or resumes a schedule; a resume makes it active from `at`, so that the slots
   * while it was paused never run. Undefined when there is no such schedule.
   */
  setSchedulePaused(workspace: string, name: string, paused: boolean, at: number): Promise<ScheduleRecord | undefined>;
  /** False when there was no such schedule. Its runs stay. */
  deleteSchedule(workspace: string, name: string): Promise<boolean>;
  /** Records that the schedule's `slot` ran as `jobId`, unless a later slot is recorded already. */
  recordScheduleSlot(scheduleId: string, slot: number, jobId: string): Promise<void>;
  /** A schedule's runs (the jobs of its slot keys, see schedule/slot-key.ts), newest first. */
  scheduleRuns(schedule: ScheduleRecord, limit: number): Promise<JobRecord[]>;

  /**
   * Optional: tells `listener` of changes written through OTHER Store instances sharing this
   * store's database (PostgreSQL: other servers), as soon as they commit, so that waiters and
   * log followers in this process wake without polling. Changes written through this instance
   * are not reported (its own coordinator already knows). A store that only its own process
   * writes (SQLite) leaves it out. Returns a function that unsubscribes.
   */
  subscribe?(listener: (change: StoreChange) => void): () => void;

  // Running for months (store/operations.ts, docs/operations.md).

  /** Jobs queued and running now, per tag (the gauges of /metrics). */
  countLive(): Promise<LiveCount[]>;
  /** The schema's migration state (GET /readyz); a failing query rejects. */
  schemaState(): Promise<SchemaState>;
  /** Records a job's progress, replacing the last report. False when there is no such job. */
  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>, at: number): Promise<boolean>;
  /** A job's last progress report; undefined when it made none. */
  getProgress(jobId: string): Promise<JobProgress | undefined>;
  /** The last progress report of each of these jobs that made one (a run's page shows a bar per job). */
  listProgress(jobIds: readonly string[]): Promise<Map<string, JobProgress>>;
  /** Records the caller's trace of a run (its root job); the first record stands. */
  setRunTrace(rootJob: string, trace: RunTrace): Promise<void>;
  /** The caller's trace of a run, if its submission gave one. */
  getRunTrace(rootJob: string): Promise<RunTrace | undefined>;
  /**
   * Deletes whole finished runs (the root and every descendant, with their logs, attempts,
   * flow status and progress) whose root finished before `request.finishedBefore`, in batches
   * of one transaction each. A run with any job queued or running is never touched.
   */
  pruneRuns(request: PruneRequest): Promise<PruneReport>;

  close(): Promise<void>;
}
