import type { Signature } from '../loader/signature.js';
import type {
  AttemptRecord,
  EventSent,
  JobFilter,
  JobProgress,
  JobRecord,
  Json,
  LogLine,
  QueueSummary,
  WorkerRecord,
} from '../types.js';

/** What a caller asks to run: a script (or, later, a flow) by path, with args by name. */
export interface SubmitRequest {
  /** A script path (`examples/heavy`) or a file path under the project root (`examples/heavy.ts`). */
  path: string;
  /** Args by parameter name. Values follow the serialisation contract (Date, Map, … are fine). */
  args?: Record<string, unknown>;
  /** @default 'default' */
  tag?: string;
  workspace?: string;
  /** Submits at most once: a key seen before returns the job first submitted with it. */
  idempotencyKey?: string;
  /** Seconds after which the job is stopped. */
  timeout?: number;
  /** A script or a flow. Unset, a path ending in .flow.yaml / .flow.json is a flow. @default 'script' */
  kind?: 'script' | 'flow';
}

export interface LogsOptions {
  /** Start after this cursor (a LogLine's seq). @default 0 */
  after?: number;
  /** Keep yielding new lines until the job has finished. @default false */
  follow?: boolean;
  signal?: AbortSignal;
}

/**
 * What the CLI and the public helpers talk to. The embedded engine runs jobs in this
 * process; the HTTP engine talks to a server. Both behave the same.
 */
export interface Engine {
  /** Checks the path and the args against `main`'s signature, then persists a root job. */
  submit(request: SubmitRequest): Promise<JobRecord>;
  /** Resolves once the job has finished. */
  wait(jobId: string, options?: { signal?: AbortSignal }): Promise<JobRecord>;
  get(jobId: string): Promise<JobRecord | undefined>;
  /** The full id of the job whose id starts with `prefix`; throws when none or several do. */
  resolveId(prefix: string): Promise<string>;
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** The job's descendants, oldest first. */
  descendants(jobId: string): Promise<JobRecord[]>;
  attempts(jobId: string): Promise<AttemptRecord[]>;
  logs(jobId: string, options?: LogsOptions): AsyncIterable<LogLine>;
  /** The script's path, content hash and `main`'s signature, as the engine's side sees it. */
  signature(path: string): Promise<{ path: string; hash: string; signature: Signature }>;
  /** The workers that are live now, their tags and their jobs. */
  workers(): Promise<WorkerRecord[]>;
  /** Queued and running counts per tag and per flow-control key (`millrace queue`). */
  queue(): Promise<QueueSummary>;
  /** A flow job's flow status (its modules' states); undefined for other jobs. */
  flowStatus(jobId: string): Promise<Json | undefined>;
  /** The last progress report of the job and of each descendant that made one, by job id. */
  progress(jobId: string): Promise<Record<string, JobProgress>>;
  /** Cancels the job and its unfinished descendants; returns the jobs canceled. */
  cancel(jobId: string, reason: string): Promise<JobRecord[]>;
  /** Sends an event to a job (payload encoded): a wait of its name takes it, else it is kept for the next one. */
  sendEvent(jobId: string, name: string, payload: Json): Promise<EventSent>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
