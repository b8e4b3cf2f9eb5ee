import { AsyncLocalStorage } from 'node:async_hooks';
import type { FlowControl, Json, JobContext, Outcome, RetryOptions, TaskOptions } from '../types.js';

/**
 * The state every copy of this module shares. A user's script imports `millrace` through
 * its own loader, and a test imports the sources directly, so this file can be evaluated
 * more than once in one thread; the job context and the task registry must still be one.
 * They live on globalThis under a registered symbol.
 */

/** A task as `task()` recorded it. `name` is filled in when its module is resolved. */
export interface TaskDef {
  fn: (...args: never[]) => unknown;
  options: TaskOptions;
  /** The URL of the module that called `task()`, from the call stack. */
  moduleUrl: string | undefined;
  /** Where `task()` was called, for error messages. */
  definedAt: string;
  /** Resolved identity: the explicit name, else the export name, else the function's name. */
  name?: string;
}

/** A task call made inside a job, as the executor receives it. */
export interface TaskCall {
  def: TaskDef;
  /**
   * The task's name and module, resolving once its module's exports have been seen. A promise,
   * so that the call takes its place (its call key's occurrence index) in the order the job
   * made its calls, not in the order their names resolved.
   */
  naming: Promise<{ name: string; moduleUrl: string }>;
  args: Json[];
  /** The call's limits and cache (its key functions already run); a key '' is the task's name. */
  flowControl?: FlowControl;
}

/** A finished child, as the caller's side sees it. */
export type ChildOutcome = Outcome & {
  jobId: string;
  tag: string;
  attempt: number;
  maxAttempts: number;
};

/**
 * A child that runs a script, a flow or a flow step by path (runScript, runFlow, a flow's
 * modules). Args are by name, encoded.
 */
export interface PathCall {
  kind: 'script' | 'flow' | 'flowmodule';
  path: string;
  /** The child's name on the timeline: a flow step's module id. */
  name?: string;
  args: Record<string, Json>;
  tag?: string;
  /** The call key's base; the executor adds the occurrence index (durable replay). */
  key: string;
  timeout?: number;
  retry?: RetryOptions;
  /** Resolve once the child is persisted (its id is the outcome's jobId), not when it finishes. */
  detach?: boolean;
  /** A flow module's concurrency, priority and cache, keys resolved. */
  flowControl?: FlowControl;
}

/** What the executor puts in the async context for each job it runs. */
export interface JobScope {
  readonly context: JobContext;
  /** Aborts when the job is canceled or runs past its timeout. */
  readonly signal: AbortSignal;
  /** Submits the call as a child job and resolves when it has finished. */
  callTask(call: TaskCall): Promise<ChildOutcome>;
  /** Runs `fn` once per call key and records its result; later runs of the job get the record. */
  step(name: string, fn: () => unknown): Promise<unknown>;
  /** A durable sleep: a child job due `seconds` from its first submission. */
  sleep(seconds: number): Promise<ChildOutcome>;
  /** Submits a script, flow or flow step as a child job (see PathCall). */
  callPath(call: PathCall): Promise<ChildOutcome>;
  /**
   * Waits for a job (a child submitted with `detach`, or any job), reads it (the outcome's
   * result is its JobRecord, or null when there is none), or cancels it.
   */
  jobOp(op: 'wait' | 'get' | 'cancel' | 'progress', jobId: string, reason?: string): Promise<ChildOutcome>;
  /** Records a flow job's flow status (the flow runner's only). */
  setFlowStatus(status: Json): void;
  /**
   * waitForEvent / waitForApproval: a wait child of the job, finished by the event sent to it
   * (its result is the payload) or failed with WaitTimeoutError when `timeout` seconds pass.
   * Optional: an executor of an older millrace copy has none.
   */
  waitEvent?(wait: { name: string; timeout?: number; args: Json[] }): Promise<ChildOutcome>;
  /** getResumeUrls: the signed URLs of approval `resumeId` of this job (the outcome's result). */
  resumeUrls?(resumeId: string): Promise<ChildOutcome>;
  /** sendEvent inside a job: an event to another job (the outcome's result is an EventSent). */
  sendEvent?(jobId: string, name: string, payload: Json): Promise<ChildOutcome>;
  /** Records how far along the job is (setProgress), in line with its log. */
  setProgress(percent: number, message: string | null): void;
}

interface Runtime {
  als: AsyncLocalStorage<JobScope>;
  defs: WeakMap<object, TaskDef>;
  /** Every task() call, by the URL of the module that made it. */
  byModule: Map<string, TaskDef[]>;
  /** Modules whose task names have been resolved. */
  resolved: Set<string>;
}

const KEY = Symbol.for('millrace.runtime.v1');
const holder = globalThis as unknown as { [KEY]?: Runtime };

export const runtime: Runtime = (holder[KEY] ??= {
  als: new AsyncLocalStorage<JobScope>(),
  defs: new WeakMap(),
  byModule: new Map(),
  resolved: new Set(),
});
