import type { ChildOutcome } from '../task/runtime.js';
import type { JobTraceContext } from '../tracing/ids.js';
import type { ErrorRecord, FlowControl, Json, JobContext, LogStream, Outcome, RetryOptions } from '../types.js';

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
  /** The job's span context, with tracing on: its code runs inside it (tracing/thread.ts). */
  trace?: JobTraceContext;
}

/** A task call (or a durable sleep) made by a running job, to become its child job. */
export interface ChildCall {
  /**
   * What the child is: a task call, a durable sleep, or (runScript, runFlow, a flow's module)
   * a script, flow or flow step by path.
   */
  kind: 'task' | 'sleep' | 'wait' | 'script' | 'flow' | 'flowmodule';
  /** A task's defining module's script path (a sleep: the sleeping job's); a script's, flow's or flow step's path. */
  scriptPath: string;
  /** The task's name; 'sleep' for a sleep. */
  name: string;
  tag: string;
  /** Positional for a task; by name for a script, flow or flow step. */
  args: Json[] | { [name: string]: Json };
  /** The task name plus its occurrence index within the parent: durable replay's key. */
  callKey: string;
  timeout?: number;
  retry?: RetryOptions;
  /** For a sleep: its length; for a wait: its timeout (none: it waits until its event comes). */
  seconds?: number;
  /** Resolve once the child is persisted (runScriptAsync), not when it has finished. */
  detach?: boolean;
  /** Concurrency, rate limit, priority and cache, keys resolved (docs/flow-control.md). */
  flowControl?: FlowControl;
}

/** What a step asks of the host: its recorded result, or to record one. */
export type StepRequest =
  | { op: 'get'; callKey: string }
  | { op: 'put'; callKey: string; name: string; scriptPath: string; result: Json; startedAt: number; at: number };

export type HostMessage =
  | { type: 'run'; job: RunRequest }
  | { type: 'callDone'; callId: number; outcome: ChildOutcome }
  /** The recorded result at the step's key (undefined: none yet), or why it could not be had. */
  | { type: 'stepDone'; callId: number; recorded?: Json; found: boolean; error?: ErrorRecord }
  /** Stop the job: it was canceled or ran past its timeout. Its awaited calls reject and its signal aborts. */
  | { type: 'abort'; jobId: string; error: ErrorRecord };

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
  | { type: 'step'; callId: number; parentId: string; step: StepRequest }
  /**
   * Instead of submitting a child: wait for an existing job (waitJob inside a job), read it
   * (getJobStatus, getResult; the outcome's result is the JobRecord, or null) or cancel it
   * (cancelJob). Answered with callDone.
   */
  | {
      type: 'jobOp';
      callId: number;
      parentId: string;
      op: 'wait' | 'get' | 'cancel' | 'progress';
      jobId: string;
      reason?: string;
    }
  /**
   * An event to a job (sendEvent inside a job), or the resume URLs of an approval of the job
   * itself (getResumeUrls). Answered with callDone: the outcome's result is an EventSent or
   * the ResumeUrls.
   */
  | { type: 'eventOp'; callId: number; parentId: string; op: 'send'; jobId: string; name: string; payload: Json }
  | { type: 'eventOp'; callId: number; parentId: string; op: 'resumeUrls'; jobId: string; resumeId: string }
  | { type: 'finish'; jobId: string; outcome: Outcome; at: number }
  /**
   * The thread cannot give this job its code (it holds its most versions of the project's
   * modules, or a CommonJS module it holds changed): retire the thread (no new jobs; it ends
   * once its jobs have) and run the job on another.
   */
  | { type: 'refused'; jobId: string; reason: string }
  | { type: 'flowStatus'; jobId: string; status: Json }
  /** How far along the job is (setProgress); recorded in line with its log. */
  | { type: 'progress'; jobId: string; percent: number; message: string | null };

/** Data each executor thread starts with. */
export interface ThreadData {
  root: string;
  /** Versions of the project's modules a thread may hold before it is retired. */
  maxVersions: number;
}
