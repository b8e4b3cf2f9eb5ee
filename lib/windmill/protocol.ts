/**
 * Windmill's workflow-as-code protocol, as windmill-client's `WorkflowCtx` speaks it (its
 * `StepSuspend.dispatchInfo`), and the messages between the Windmill runner (runner.ts, on an
 * executor thread) and the process that runs one round of a workflow (round-entry.ts).
 */

/** A task the body dispatched: an inline `task()`, a `taskScript()` or a `taskFlow()`. */
export interface StepInfo {
  name: string;
  /** An inline task's name, or the path of a script or flow. */
  script: string;
  args: Record<string, unknown>;
  /** The step's key in `completed_steps` (`double`, `double_2`, `double#2` for a retry). */
  key: string;
  dispatch_type: 'inline' | 'script' | 'flow';
  timeout?: number;
  tag?: string;
  cache_ttl?: number;
  priority?: number;
  /** The SDK's spelling of `concurrency_limit`. */
  concurrent_limit?: number;
  concurrency_key?: string;
  concurrency_time_window_s?: number;
}

/** Why a round suspended: the SDK's `dispatchInfo`, one shape per mode. */
export type DispatchInfo =
  | { mode: 'sequential' | 'parallel'; steps: StepInfo[] }
  | { mode: 'sleep'; key: string; seconds: number; steps: [] }
  | {
      mode: 'approval';
      key: string;
      timeout?: number;
      form?: unknown;
      self_approval_disabled?: boolean;
      description?: unknown;
      steps: [];
    }
  | { mode: 'inline_checkpoint'; key: string; result: unknown; started_at: string; duration_ms: number; steps: [] }
  | { mode: 'step_complete'; result: unknown; steps: [] };

/** Windmill's checkpoint: what the round's `WorkflowCtx` starts from. */
export interface Checkpoint {
  completed_steps: Record<string, unknown>;
  /** In a task's own job: the key of the task it runs (the others never resolve). */
  _executing_key?: string;
}

/** Runner → round process: what to run. */
export interface RoundRequest {
  file: string;
  /** main's args, in order (the signature's parameter names, read by the runner). */
  args: unknown[];
  checkpoint: Checkpoint;
  /**
   * A task call by entrypoint (Windmill's v1 form): the export of this name runs instead of the
   * workflow; a `task()` wrapper runs its body, as an inline task's job does.
   */
  entrypoint?: string;
}

/** An error as the round process saw it thrown. */
export interface RoundError {
  name: string;
  message: string;
  stack?: string;
}

/** Round process → runner: how the round ended. */
export type RoundOutcome =
  | { kind: 'complete'; result: unknown }
  | { kind: 'suspend'; dispatch: DispatchInfo }
  | { kind: 'failure'; error: RoundError };

/** A failed task or step as the SDK expects it in `completed_steps` (its `__wmill_error` marker). */
export interface ErrorMarker {
  __wmill_error: true;
  message: string;
  step_key: string;
  child_job_id?: string;
  result: { error: { name?: string; message?: string; stack?: string } };
}

/**
 * The call key of a Windmill step's record (its `step()`, or an inline checkpoint the server
 * took): the runner records step `key` as millrace's `step(key)`, once per run of the job (the
 * SDK never asks for a key twice), and a job's executor keys a step `@step:<name>:<occurrence>`.
 */
export function windmillStepCallKey(key: string): string {
  return `@step:${key}:0`;
}
