import type { AttemptRecord, JobRecord, Json, LogLine, NewLogLine, Outcome, WorkerRecord } from '../types.js';

/**
 * The shapes that cross HTTP between millrace's server and its clients (the HTTP engine and
 * remote workers). Client and server meet only here. Windmill-compatible shapes are in
 * windmill.ts beside this file.
 */

/** Every error body: `{ error: { code, message } }` with the HTTP status saying the kind. */
export interface WireError {
  /** `jobs`: with LEASE_NOT_HELD, the jobs the worker reported on without holding them. */
  error: { code: string; message: string; problems?: string[]; jobs?: string[] };
}

export interface ClaimBody {
  worker_id: string;
  hostname: string;
  tags: string[] | 'all';
  limit: number;
  lease_ms: number;
  /** How long the server may hold the request open waiting for a job. */
  wait_ms: number;
}

export interface ClaimReply {
  jobs: JobRecord[];
}

export interface StartedBody {
  job_id: string;
  at: number;
}

export interface LogsBody {
  job_id: string;
  lines: NewLogLine[];
}

export interface CompleteBody {
  job_id: string;
  outcome: Outcome;
  at: number;
}

/**
 * The answer to a worker's report (`worker/report`): every event is applied on its own, and
 * those the server refused are listed by their index in the request, so one refused event
 * (a job since deleted, a bad field) loses no other.
 */
export interface ReportReply {
  /** The events the server refused, by index in the request; `job_id` when the event named a job that exists. */
  rejected: { index: number; status: number; code: string; message: string; job_id?: string }[];
}

export interface HeartbeatBody {
  worker_id: string;
  hostname: string;
  tags: string[] | 'all';
  job_ids: string[];
  lease_ms: number;
}

export interface HeartbeatReply {
  /** Jobs that are no longer this worker's (canceled, or given to another after a lease ran out). */
  lost: string[];
}

/** Waits until at least one of `ids` has finished, or `wait_ms` passed. */
export interface WaitBody {
  ids: string[];
  wait_ms: number;
}

export interface WaitReply {
  finished: JobRecord[];
}

/** A task call from a job on a remote worker: the body of `jobs/run/workflow_as_code/{parent}/{entrypoint}`. */
export interface TaskCallBody {
  args: unknown[];
  script_path: string;
  script_hash: string;
  tag?: string;
  call_key?: string;
  timeout?: number;
  retry?: { attempts: number; delay?: number; multiplier?: number; maxDelay?: number };
  /** 'task' (the default) or 'sleep': a durable sleep, due `scheduled_in_secs` from now. */
  kind?: 'task' | 'sleep';
  scheduled_in_secs?: number;
}

/** `worker/child`: the child recorded at a parent's call key. */
export interface ChildReply {
  job: JobRecord | null;
}

/** `worker/step`: records a step's outcome once. */
export interface StepBody {
  /** The worker that runs the parent, and the parent's attempt it holds the lease of. */
  worker_id: string;
  parent_attempt: number;
  parent_job: string;
  call_key: string;
  name: string;
  script_path: string;
  script_hash: string;
  outcome: Outcome;
  started_at: number;
  at: number;
}

export interface TreeReply {
  job: JobRecord;
  attempts: AttemptRecord[];
  descendants: JobRecord[];
  /** A flow job's recorded flow status (its modules' states; see docs/flows.md). */
  flow_status?: Json;
}

export interface WorkersReply {
  workers: WorkerRecord[];
}

/** One line of the NDJSON stream of `jobs_u/logs/{id}`. */
export type LogEvent = { line: LogLine } | { end: true };
