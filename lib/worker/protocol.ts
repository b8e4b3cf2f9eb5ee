import type { ChildOutcome } from '../task/runtime.js';
import type { Json, JobContext, LogStream, Outcome, RetryOptions } from '../types.js';

/**
 * Messages between a worker (the host, on the main thread) and its executor threads.
 * One ordered channel per thread: a job's log lines always precede its calls and its end.
 */

/** What an executor thread needs to run one job. */
export interface RunRequest {
  context: JobContext;
  /** The module to import, and the content hash the job was submitted with. */
  file: string;
  hash: string;
  /** `main` for scripts, a task's name for tasks. */
  entrypoint: string;
  kind: 'script' | 'task';
  /** Positional arguments, encoded (undefined leaves a parameter's default in place). */
  args: (Json | undefined)[];
}

/** A task call made by a running job, to become its child job. */
export interface ChildCall {
  /** The defining module's script path (for a script, flow or flow step: its path). */
  scriptPath: string;
  name: string;
  tag: string;
  /** Positional for a task; by name for a script, flow or flow step. */
  args: Json[] | { [name: string]: Json };
  /** The task name plus its occurrence index within the parent: durable replay's key. */
  callKey: string;
  timeout?: number;
  retry?: RetryOptions;
  /** What the child is; a task when unset (runScript, runFlow and flows set it). */
  kind?: 'script' | 'flow' | 'flowstep';
  /** Resolve once the child is persisted (runScriptAsync), not when it has finished. */
  detach?: boolean;
  /**
   * Instead of submitting a child: wait for an existing job (waitJob inside a job), read it
   * (getJobStatus, getResult; the outcome's result is the JobRecord) or cancel it (cancelJob).
   */
  about?: { op: 'wait' | 'get' | 'cancel'; jobId: string; reason?: string };
}

export type HostMessage =
  | { type: 'run'; job: RunRequest }
  | { type: 'callDone'; callId: number; outcome: ChildOutcome };

export interface ThreadLogLine {
  jobId: string;
  ts: number;
  stream: LogStream;
  line: string;
}

export type ThreadMessage =
  | { type: 'ready' }
  | { type: 'started'; jobId: string; at: number }
  | { type: 'logs'; lines: ThreadLogLine[] }
  | { type: 'call'; callId: number; parentId: string; call: ChildCall }
  | { type: 'done'; jobId: string; outcome: Outcome; at: number }
  | { type: 'flowStatus'; jobId: string; status: Json };

/** Data each executor thread starts with. */
export interface ThreadData {
  root: string;
}
