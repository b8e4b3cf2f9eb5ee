import type { EventSent, JobProgress, JobStatus } from '../types.js';

/** What the public helpers ask of an engine when they run outside a job. */
export interface Connection {
  /** Persists a root job running the script or flow at `path`; resolves with its id. */
  submit(kind: 'script' | 'flow', path: string, args: Record<string, unknown>, options: RunOptions): Promise<string>;
  /** Resolves with the job's result once it has finished; rejects with a TaskError when it failed. */
  wait(jobId: string): Promise<unknown>;
  /** The result of a finished job; rejects when it has not finished or failed. */
  result(jobId: string): Promise<unknown>;
  status(jobId: string): Promise<JobStatus>;
  cancel(jobId: string, reason: string): Promise<void>;
  /** Sends an event (payload not yet encoded) to a job. */
  sendEvent(jobId: string, name: string, payload: unknown): Promise<EventSent>;
  /** A job's last progress report; undefined when it made none. */
  progress(jobId: string): Promise<JobProgress | undefined>;
  close(): Promise<void>;
}

export interface RunOptions {
  /** The tag of the job. @default 'default' */
  tag?: string;
  /** Seconds after which the job is stopped. */
  timeout?: number;
  /**
   * Submits at most once (from outside a job): a key seen before in the workspace gives the
   * job first submitted with it, so a caller may retry a submission it got no answer to.
   * Inside a job a call is already made once per run (durable replay), so it is refused there.
   */
  idempotencyKey?: string;
}

/** Where the helpers send work from outside a job: a server, or (by default) an embedded engine. */
export interface ConnectOptions {
  /** A millrace (or Windmill) server's base URL. @default $MILLRACE_SERVER; unset, the embedded engine */
  server?: string;
  /** @default $MILLRACE_TOKEN */
  token?: string;
  /** @default $MILLRACE_WORKSPACE, else 'default' */
  workspace?: string;
  /** The embedded engine's project root. @default $MILLRACE_ROOT, else the current directory */
  root?: string;
  /** The embedded engine's SQLite file. @default $MILLRACE_DB, else <root>/.millrace/millrace.db */
  db?: string;
}
