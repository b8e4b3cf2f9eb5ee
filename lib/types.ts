/**
 * Terminology (one word per concept in code, API, UI and docs; the design and its invariants
 * are in docs/architecture.md):
 *
 * - script: a TypeScript module addressed by a path relative to the project root, without
 *   its extension (`examples/heavy` ↔ `examples/heavy.ts`). Its `main` export is its entrypoint.
 * - task: a function wrapped by `task()`. Identified by (script, name), where script is the
 *   module that defines it.
 * - flow: a declarative workflow file (a subset of Windmill's OpenFlow).
 * - job: one execution of a script, task, flow or flow step. Has an id, a kind, args, a tag,
 *   a status, a log, a result or error, timestamps, and parent_job / root_job links.
 * - run: a root job together with all its descendants.
 * - tag: the queue name a job is routed by. Workers serve a set of tags.
 * - worker: claims jobs for its tags and executes them on a pool of executor threads.
 * - store: where jobs, logs and results live (SQLite embedded, PostgreSQL scale-out).
 * - server: the HTTP API and web UI in front of a store.
 * - engine: what the CLI and the public helpers talk to: embedded (store + worker in this
 *   process) or HTTP (a server).
 * - schedule: a script or flow run at each slot of a cron expression, by name.
 * - slot: one time a schedule's cron names; each slot runs once (its run's idempotency key).
 * - clock: the engine's time (lib/clock.ts); the real one, or a test's that moves on advance().
 */

import type { FlowControl, RunTrace, TaskConcurrency, TaskRateLimit } from './types-operations.js';

/** A closed union: a job is in exactly one of these states. */
export type JobStatus = 'queued' | 'running' | 'success' | 'failure' | 'canceled';
export const JOB_STATUSES: readonly JobStatus[] = ['queued', 'running', 'success', 'failure', 'canceled'];
export const FINISHED_STATUSES: readonly JobStatus[] = ['success', 'failure', 'canceled'];

/** Whether a job has finished: it will not run again and its status will not change. */
export function isFinished(job: { status: JobStatus }): boolean {
  return FINISHED_STATUSES.includes(job.status);
}

/**
 * - step: the recorded result of `step(name, fn)`: finished when it is recorded, never run by a worker.
 * - sleep: a durable `sleep(seconds)`: due when the sleep ends; a worker finishes it when it claims it.
 * - wait: a `waitForEvent(name)` (or `waitForApproval`): finished by the event sent to its parent;
 *   due when its timeout ends, and a worker that claims it then fails it with WaitTimeoutError.
 */
export type JobKind = 'script' | 'task' | 'flow' | 'flowmodule' | 'step' | 'sleep' | 'wait';

/** How a job is named in logs, trees and timelines: a script or flow by its path; any other kind (a task, a flow module, a step, a sleep, a wait) by its entrypoint, which holds its name. */
export function jobName(job: { kind: JobKind; entrypoint: string; scriptPath: string }): string {
  // A Windmill workflow's inline task, and a call by entrypoint (Windmill's v1 task call), is a
  // script job named after its function (docs/windmill.md).
  if (job.kind === 'script' && job.entrypoint !== 'main') return job.entrypoint;
  return job.kind === 'script' || job.kind === 'flow' ? job.scriptPath : job.entrypoint;
}

/**
 * The due time of a wait without a timeout (the last instant a Date can hold): never claimed,
 * so only its event (or a cancel) ends it. A stored time like any other, so a clock moved by
 * the store (tests) moves nothing here by mistake.
 */
export const NEVER_DUE = 8_640_000_000_000_000;

/** An event sent to a job (`sendEvent`), as the store keeps it. */
export interface EventRecord {
  jobId: string;
  name: string;
  /** Encoded, as task args are (serialize.ts). */
  payload: Json;
  sentAt: number;
  /** The wait child that took it; null while it is kept for the next wait of its name. */
  waitJob: string | null;
}

/** What became of an event sent with `sendEvent`: a waiting wait took it, or it is kept for the next. */
export interface EventSent {
  status: 'delivered' | 'kept';
  /** The wait child that took it (when delivered). */
  waitJob: string | null;
}

/** `getResumeUrls()`: absolute, signed URLs of one approval of a job; they work without a token. */
export interface ResumeUrls {
  /** The web UI's page: the run, the form, Approve and Reject. */
  approvalPage: string;
  /** GET (`?payload=` URL-encoded JSON) or POST (a JSON body): approves, with that value. */
  resume: string;
  /** GET or POST: rejects. */
  cancel: string;
}

/** What `waitForApproval` resolves with. */
export interface Approval<T = unknown> {
  approved: boolean;
  /** The value sent with the approval (checked against the form), or null. */
  value: T;
  /** Who approved, when the URL was given `?approver=`; null otherwise. */
  approver: string | null;
}

/** The tag a job gets when nobody names one. */
export const DEFAULT_TAG = 'default';
/** The workspace that exists from the start. */
export const DEFAULT_WORKSPACE = 'default';

/** A JSON value as it is stored and sent on the wire (after `encode` of serialize.ts). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An error as recorded on a failed job: plain data, so it crosses threads and HTTP. */
export interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  /** A MillraceError's stable code, when the error was one. */
  code?: string;
  /** For a TaskError: the failed child job's id, so a chain of failures can be followed. */
  jobId?: string;
}

/** How a job ended: a discriminated union, never a bag of optional fields. */
export type Outcome =
  | { status: 'success'; result: Json }
  | { status: 'failure'; error: ErrorRecord }
  | { status: 'canceled'; error: ErrorRecord };

export interface RetryOptions {
  /** Total attempts, the first included. @default 1 */
  attempts: number;
  /** Seconds before the first retry. @default 1 */
  delay?: number;
  /** Each further delay is the previous one times this. @default 2 */
  multiplier?: number;
  /** Upper bound of a delay, in seconds. @default 300 */
  maxDelay?: number;
}

/** `A`: the task's parameters, which a key function receives. */
export interface TaskOptions<A extends unknown[] = never[]> {
  /** The tag that routes this task to workers. @default 'default' */
  tag?: string;
  /** The task's name, the second half of its identity (script, name). Wins over the export
   *  name and the function's name. */
  name?: string;
  /** Seconds after which an attempt is stopped and counts as failed. */
  timeout?: number;
  /** Retries with backoff. */
  retry?: RetryOptions;
  /** At most `limit` jobs of a key at once, or with `window` at most `limit` starts per window (docs/flow-control.md). */
  concurrency?: TaskConcurrency<A>;
  /** At most `limit` starts per `per` seconds for a key, spread out evenly. */
  rateLimit?: TaskRateLimit<A>;
  /** Higher runs first within a tag; within a priority, the oldest first. @default 0 */
  priority?: number;
  /** Seconds during which a call with equal args resolves with the recorded result, without running. */
  cacheTtl?: number;
}

/** What `currentJob()` returns inside a job. */
export interface JobContext {
  id: string;
  rootId: string;
  /** Undefined for a root job. */
  parentId: string | undefined;
  /** The script path (for a task: the module that defines it). */
  script: string;
  /** The task's name; undefined for a script's `main`. */
  task: string | undefined;
  tag: string;
  /** 1 for the first attempt. */
  attempt: number;
  workspace: string;
}

/** Everything recorded about a job. Times are epoch milliseconds. */
export interface JobRecord {
  id: string;
  workspace: string;
  kind: JobKind;
  /** Script path, relative to the project root, without extension. */
  scriptPath: string;
  /** sha256 of the script's content when it was submitted (hex). */
  scriptHash: string;
  /** `main` for scripts; the task's name for tasks. */
  entrypoint: string;
  /** Encoded args: an object keyed by parameter name for scripts, a positional array for tasks. */
  args: Json;
  tag: string;
  status: JobStatus;
  parentJob: string | null;
  rootJob: string;
  /** Identifies the call within its parent: task name + occurrence index (durable replay). */
  callKey: string | null;
  attempt: number;
  maxAttempts: number;
  /** Seconds; null means no limit. */
  timeout: number | null;
  retry: RetryOptions | null;
  createdAt: number;
  scheduledFor: number;
  startedAt: number | null;
  completedAt: number | null;
  durationMs: number | null;
  worker: string | null;
  result: Json | null;
  error: ErrorRecord | null;
  /** Ids from the root to this job, joined by '/': the job's place in its run. */
  path: string;
  /** Who canceled it (a token's label, 'cli', the parent that failed …); null unless canceled. */
  canceledBy: string | null;
  /** The caller's key for a root job submitted at most once (see JobSpec.idempotencyKey). */
  idempotencyKey: string | null;
  /** Higher runs first within a tag (see FlowControl). */
  priority: number;
  /** The job's limits and cache, when it has any. */
  flowControl: FlowControl | null;
  /** A job that did not run: it resolved with the result of this earlier job (the cache). */
  cachedFrom: string | null;
}

/** The attempts a new job (or a call run again) is allowed: `maxAttempts`, else its retry policy's, else 1. */
export function attemptsAllowed(spec: Pick<JobSpec, 'maxAttempts' | 'retry'>): number {
  return spec.maxAttempts ?? spec.retry?.attempts ?? 1;
}

/** What a caller gives to create a job. */
export interface JobSpec {
  kind: JobKind;
  scriptPath: string;
  scriptHash: string;
  entrypoint: string;
  args: Json;
  tag?: string;
  workspace?: string;
  parentJob?: string;
  callKey?: string;
  maxAttempts?: number;
  timeout?: number;
  retry?: RetryOptions;
  /** Epoch ms; defaults to now. */
  scheduledFor?: number;
  /**
   * Due this many ms after the job is created (a durable sleep, `scheduled_in_secs`): the
   * store adds it to the creation time it records, so the two differ by exactly this.
   */
  delayMs?: number;
  /** A caller-chosen id (Windmill's `job_id` query parameter). */
  id?: string;
  /**
   * Submits at most once per workspace: a spec whose key was seen before returns the job
   * submitted first, whatever its state (a client retrying a request it got no answer to).
   */
  idempotencyKey?: string;
  /** A root job's place in its caller's trace (a `traceparent` sent with the run): the run joins that trace. */
  trace?: RunTrace;
  /** Concurrency, rate limit, priority and cache (docs/flow-control.md). */
  flowControl?: FlowControl;
}

export type LogStream = 'stdout' | 'stderr';

/** One line of a job's log. `source` is set when the line was printed by a descendant and
 *  forwarded here (invariant 5): it names that job and its task. */
export interface LogLine {
  /** A cursor, increasing within a job's log. */
  seq: number;
  jobId: string;
  ts: number;
  stream: LogStream;
  line: string;
  source: { jobId: string; name: string } | null;
}

/** A line as a worker reports it, before the store files it. */
export interface NewLogLine {
  ts: number;
  stream: LogStream;
  line: string;
}

export interface JobFilter {
  /** Only these jobs. */
  ids?: readonly string[];
  workspace?: string;
  status?: JobStatus[];
  tag?: string;
  scriptPath?: string;
  parentJob?: string;
  rootJob?: string;
  /** Only root jobs. */
  rootsOnly?: boolean;
  /** How many jobs, in `order`. @default 50 */
  limit?: number;
  /** Jobs created before this (ms), for paging. */
  before?: number;
  /** Skip this many jobs first, for numbered pages (Windmill's `page`). @default 0 */
  offset?: number;
  /** By creation: newest first or oldest first (Windmill's `order_desc`). @default 'newest' */
  order?: 'newest' | 'oldest';
}

/** One attempt at running a job: a claim by a worker and how it ended. */
export interface AttemptRecord {
  jobId: string;
  attempt: number;
  worker: string;
  claimedAt: number;
  startedAt: number | null;
  completedAt: number | null;
  /** 'running' while the attempt goes on. */
  status: JobStatus;
  error: ErrorRecord | null;
}

/** What a token may reach: everything in its workspace, only the worker routes, or every workspace. */
export type TokenScope = 'user' | 'worker' | 'admin';

/** A token as stored: only a hash of its secret is kept. */
export interface TokenRecord {
  tokenHash: string;
  /**
   * The secret's first characters (`mr_` and 7 more, as Windmill keeps 10), so a person can
   * tell which token a listing means; null for tokens made before millrace kept it.
   */
  prefix: string | null;
  workspace: string;
  scope: TokenScope;
  label: string;
  createdAt: number;
  /** Made from MILLRACE_TOKEN at a server's start: a start with another one revokes it. */
  fromEnv: boolean;
  /** When a server last accepted it (written at most once a minute per server); null if never. */
  lastUsedAt: number | null;
  /** When it was revoked; a revoked token is refused and never comes back. */
  revokedAt: number | null;
}

/** A worker as the store last heard of it. */
export interface WorkerRecord {
  id: string;
  workspace: string;
  /** The tags it serves; 'all' for an embedded worker. */
  tags: string[] | 'all';
  hostname: string;
  startedAt: number;
  lastSeen: number;
  /** The jobs it runs now. */
  jobs: string[];
}

// The records of operations live in types-operations.ts; they are re-exported here (type-only,
// erased) so that types.ts stays the one place to import the glossary from.
export type {
  TaskKey,
  TaskConcurrency,
  TaskRateLimit,
  FlowControl,
  RunTrace,
  ScheduleRecord,
  NewSchedule,
  ScheduleView,
  ScheduleRun,
  JobProgress,
  QueueSummary,
  QueueKey,
} from './types-operations.js';
