import { dirname, join } from 'node:path/posix';
import { WindmillOptionError } from '../errors-windmill.js';
import { withTaskName } from '../flow-options.js';
import { moduleFlowControl } from '../flow/module-flow-control.js';
import { WAC_TASK_ARG } from '../loader/windmill-workflow.js';
import { decode, encode } from '../serialize.js';
import type { ChildOutcome, JobScope, PathCall } from '../task/runtime.js';
import type { FlowControl, Json } from '../types.js';
import type { ErrorMarker, StepInfo } from './protocol.js';

/**
 * A task the workflow dispatched, as a child job of the workflow's job: an inline task re-runs
 * the same script with the task's key and the checkpoint (its job runs only that task's body),
 * a `taskScript` runs the script at its path, a `taskFlow` the flow. Each is a millrace call by
 * key (`wac:<step key>`), so a workflow job that runs again (its worker died) gets the recorded
 * outcome back instead of running the task twice; and the job gives its slot back while it waits.
 */

export interface WorkflowJob {
  scope: JobScope;
  /** The workflow's script path (millrace's: relative to the root, no extension). */
  script: string;
  /** The workflow's own args, encoded, by name. */
  args: Record<string, Json>;
}

/** The task's outcome as `completed_steps` holds it: its value, or Windmill's error marker. */
export async function dispatchTask(
  job: WorkflowJob,
  step: StepInfo,
  completed: Record<string, unknown>,
): Promise<unknown> {
  const inline = step.dispatch_type === 'inline';
  const call: PathCall = {
    kind: step.dispatch_type === 'flow' ? 'flow' : 'script',
    path: inline ? job.script : windmillPath(job.script, step.script),
    args: inline
      ? {
          ...job.args,
          [WAC_TASK_ARG]: encode(
            { key: step.key, completed_steps: sorted(completed), task_args: step.args },
            'checkpoint',
          ),
        }
      : encodeArgs(step.args),
    ...(inline && { name: step.name }),
    key: `wac:${step.key}`,
    ...(step.tag !== undefined && { tag: step.tag }),
    ...(step.timeout !== undefined && { timeout: step.timeout }),
  };
  const flowControl = stepFlowControl(job.script, step);
  if (flowControl) call.flowControl = flowControl;
  return outcomeValue(step.key, await job.scope.callPath(call));
}

/** A finished child as `completed_steps` records it. */
export function outcomeValue(key: string, outcome: ChildOutcome): unknown {
  if (outcome.status === 'success') return decode(outcome.result);
  const marker: ErrorMarker = {
    __wmill_error: true,
    message: outcome.error.message,
    step_key: key,
    child_job_id: outcome.jobId,
    result: { error: { name: outcome.error.name, message: outcome.error.message, stack: outcome.error.stack } },
  };
  return marker;
}

/**
 * A Windmill path as millrace's: `f/data/extract` is the script at that path under the root; a
 * relative one (`./helper.ts`) is beside the workflow. The extension is dropped (millrace tries
 * each in turn).
 */
export function windmillPath(workflowScript: string, path: string): string {
  const relative = path.startsWith('./') || path.startsWith('../');
  const joined = relative ? join(dirname(workflowScript), path) : path;
  return joined.replace(/\.(ts|mts|tsx|js|mjs|cts|cjs|ya?ml|json)$/, '');
}

/** The step's Windmill options as millrace's flow control (docs/windmill.md); a bad value refuses the run. */
function stepFlowControl(script: string, step: StepInfo): FlowControl | undefined {
  const problems: string[] = [];
  const raw = {
    concurrency_limit: step.concurrent_limit,
    concurrency_key: step.concurrency_key,
    concurrency_time_window_s: step.concurrency_time_window_s,
    priority: step.priority,
    cache_ttl: step.cache_ttl,
  };
  const flow = moduleFlowControl(raw, `task "${step.name}"`, (at, message) => problems.push(`${at}: ${message}`));
  if (problems.length > 0) throw new WindmillOptionError(script, problems);
  return withTaskName(flow, step.name);
}

function encodeArgs(args: Record<string, unknown>): Record<string, Json> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, encode(v, `args.${k}`)]));
}

/** The checkpoint with its keys in order: a replayed call carries the same args whatever order its tasks ended in. */
function sorted(completed: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(completed).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
