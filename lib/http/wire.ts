import type {
  AttemptRecord,
  ErrorRecord,
  JobProgress,
  JobRecord,
  Json,
  LogLine,
  NewLogLine,
  Outcome,
  RetryOptions,
  WorkerRecord,
} from '../types.js';
import type { FlowControlFields } from './flow-control-wire.js';

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

// The worker routes (`/api/w/{ws}/worker/*`): a remote worker's side of the WorkerBackend.
// Every body below is built by worker/http-backend.ts and parsed by server/parse-*.ts.

/** `worker/claim`: the jobs due for this worker, held open until one is. */
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

/**
 * One event of a worker's report: `worker/report`'s body is `{ worker_id, events }`, the
 * starts, log lines, ends, releases and flow status in order (written as text by
 * worker/report-batches.ts, parsed one event at a time by server/worker-report.ts). `attempt` is the attempt of the job whose lease the worker
 * holds (as its claim recorded it): the server refuses the events of a lease no longer held.
 */
export type ReportEvent = { job_id: string; attempt: number } & (
  | { type: 'started'; at: number }
  | { type: 'logs'; lines: NewLogLine[] }
  /** `started_at`: its start, when the worker held it back to send with its end (worker/held-starts.ts). */
  | { type: 'finish'; outcome: Outcome; at: number; started_at?: number }
  /** A running job back to the queue through no fault of its own. */
  | { type: 'release'; error: ErrorRecord; at: number }
  /** A flow job's flow status (see docs/flows.md). */
  | { type: 'flow_status'; status: Json }
  /** How far along the job is (setProgress inside it; docs/operations.md). */
  | { type: 'progress'; percent: number; message: string | null }
);

/**
 * The answer to a worker's report (`worker/report`): every event is applied on its own, and
 * those the server refused are listed by their index in the request, so one refused event
 * (a job since deleted, a bad field) loses no other.
 */
export interface ReportReply {
  /** The events the server refused, by index in the request; `job_id` when the event named a job that exists. */
  rejected: { index: number; status: number; code: string; message: string; job_id?: string }[];
}

/** `worker/heartbeat`: renews the leases of the jobs a worker runs, and says it is live. */
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

/** `worker/wait`: waits until at least one of `ids` has finished, or `wait_ms` passed. */
export interface WaitBody {
  ids: string[];
  wait_ms: number;
}

export interface WaitReply {
  finished: JobRecord[];
  /** Ids of the batch that name no job in the workspace: answered at once, so their waits end (UNKNOWN_JOB). */
  missing?: string[];
}

/** `worker/child`: the child recorded at a parent's call key (a step's recorded result). */
export interface ChildBody {
  parent_job: string;
  call_key: string;
}

export interface ChildReply {
  job: JobRecord | null;
}

/** `worker/job`: getJobStatus / getResult called by a job on a remote worker. */
export interface JobBody {
  job_id: string;
}

/** The job, or null when there is none in the workspace. */
export interface JobReply {
  job: JobRecord | null;
}

/** `worker/cancel`: cancelJob called by a job on a remote worker (answered 204). */
export interface CancelBody {
  job_id: string;
  reason?: string;
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

/** The step as recorded: the first record at a call key stands. */
export interface StepReply {
  job: JobRecord;
}

// `jobs/run/workflow_as_code/{parent}/{task}`: task calls (and durable sleeps,
// runScript, runFlow, a flow's steps) from a job.

/** The kinds of child a job submits through workflow_as_code; `task` when none is given. */
export type TaskCallKind = 'task' | 'sleep' | 'wait' | 'script' | 'flow' | 'flowmodule';

/** One call: the fields that differ between the calls of a batch; flow control in Windmill's names. */
export interface TaskCall extends FlowControlFields {
  /** Encoded args: positional (an array) for a task, an object by name for a script, flow or flow step (`kind`). */
  args: Json;
  tag?: string;
  call_key?: string;
  /** Seconds. */
  timeout?: number;
  retry?: RetryOptions;
  /** A call of a batch may be a `sleep` in a batch of kind `task`, or the reverse. */
  kind?: TaskCallKind;
  /** A durable sleep's delay, in seconds. */
  scheduled_in_secs?: number;
  /**
   * The new child's id, chosen by the calling worker (`worker_id`), which has room for it now:
   * the child is recorded already claimed by that worker when nothing holds it back
   * (Store.enqueue's claim), and comes back in the reply's `taken`. 20 characters of [0-9a-z].
   */
  take_id?: string;
  /**
   * With `take_id`: the child already ran on the calling worker, before it was recorded, and
   * succeeded (worker/unrecorded-children.ts). It is recorded finished, in the one write, and
   * comes back finished in `taken`. Times are the worker's, in epoch ms.
   */
  ended?: TaskCallEnded;
  /** With `take_id`: when the worker took the child, where it ran before this call was sent (epoch ms). */
  taken_at?: number;
}

/** How a child taken by its caller's worker ended before it was recorded (TaskCall's `ended`). */
export interface TaskCallEnded {
  result: Json;
  started_at?: number;
  at: number;
}

/**
 * Who calls, and what: the fields every call of a request shares. A worker names itself and
 * the parent's attempt it holds the lease of; a user's token may leave them out.
 */
export interface TaskCallCaller {
  worker_id?: string;
  parent_attempt?: number;
  /** The lease of a child taken (a call's `take_id`), in ms, as a claim's `lease_ms`. @default 30000 */
  lease_ms?: number;
}

export interface TaskCallScript {
  script_path: string;
  script_hash: string;
  kind?: TaskCallKind;
}

/**
 * millrace's batched form: the calls a job made in one tick, answered 201 with
 * `TaskCallsReply`. (Windmill's form is one call, `TaskCallCaller & TaskCallScript & TaskCall`,
 * answered 201 with the child's id as text.)
 */
export type TaskCallsBody = TaskCallCaller & TaskCallScript & { calls: TaskCall[] };

export interface TaskCallsReply {
  /** The children's ids, in the order of the calls. */
  ids: string[];
  /**
   * The children recorded already claimed by the calling worker (its calls' `take_id`), as a
   * claim returns them; those sent `ended`, recorded finished.
   */
  taken?: JobRecord[];
}

/**
 * Windmill's v1 task call, as windmill-client's `task()` sends it from a job run outside a
 * workflow (`WM_JOB_ID` set, no workflow context): no script named, so the child runs the
 * parent's own script, calling its exported function `{entrypoint}` (the route's last segment)
 * with these args by name. Answered 201 with the child's id as text.
 */
export interface EntrypointCallBody {
  args: Record<string, Json>;
}

/**
 * `jobs/wac/inline_checkpoint/{id}`: a Windmill `step()`'s result, as windmill-client's
 * `encodeCheckpointPayload` writes it. Recorded as a step child of the job by its key.
 */
export interface InlineCheckpointBody {
  key: string;
  result: Json;
  /** ISO time the step's function started. */
  started_at?: string;
  duration_ms?: number;
}

// millrace's own routes (beyond Windmill's shapes).

/** `jobs_u/cancel/{id}` and `jobs_u/queue/cancel/{id}`: an optional body. */
export interface CancelJobBody {
  reason?: string;
}

/** `jobs_u/cancel/{id}`: the jobs canceled (the job and its unfinished descendants). */
export interface CancelJobReply {
  canceled: JobRecord[];
}

/** `jobs_u/resolve/{prefix}`: the one job id that starts with the prefix. */
export interface ResolveReply {
  id: string;
}

export interface TreeReply {
  job: JobRecord;
  attempts: AttemptRecord[];
  descendants: JobRecord[];
  /** A flow job's recorded flow status (its modules' states; see docs/flows.md). */
  flow_status?: Json;
  /** The last progress report of each job of the tree that made one, by job id (docs/operations.md). */
  progress?: Record<string, JobProgress>;
}

export interface WorkersReply {
  workers: WorkerRecord[];
}

/** One line of the NDJSON stream of `jobs_u/logs/{id}`. */
export type LogEvent = { line: LogLine } | { end: true };

// Events and approvals (docs/waits.md).

/** `POST jobs/{id}/events/{name}`: what became of the event. */
export interface SendEventReply {
  status: 'delivered' | 'kept';
  /** The wait child that took it, when delivered. */
  wait_job: string | null;
}

/** `GET jobs_u/approval/{id}/{resume_id}/{signature}`: what the approval page shows (signed: no token). */
export interface ApprovalInfoReply {
  job: JobRecord;
  resume_id: string;
  /** The form (a JSON schema) of the approval the job waits for now; null when it gave none. */
  form: Json | null;
  /** The job waits for this approval now (its wait child is queued). */
  waiting: boolean;
  /** The URL was used already (approved or rejected). */
  used: boolean;
}

/** `GET jobs/waiting`: jobs waiting for an event or an approval now, newest first. */
export interface WaitingReply {
  waiting: { job: JobRecord; wait: JobRecord; event: string; approval: string | null; due_at: number | null }[];
}
