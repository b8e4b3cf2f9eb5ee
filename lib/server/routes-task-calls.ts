import type { TaskCall, TaskCallsReply } from '../http/wire.js';
import { resolveScript } from '../loader/paths.js';
import { isFinished, type FlowControl, type JobRecord, type JobSpec } from '../types.js';
import { fromFlowFields } from '../http/flow-control-wire.js';
import { childScript } from '../flow/run-request.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { assertHeld, leaseNotHeld } from './lease.js';
import { byPath, parseTaskCallCaller, parseTaskCalls, parseTaskCallScript } from './parse-task-calls.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { object } from './validate.js';

/**
 * A task call from a job on a remote worker (or, by path, runScript, runFlow and a flow's
 * steps): the child jobs, linked to their parent. millrace's workers send the calls a job
 * made in one tick (a fan-out) as one batch, `{calls}`: all checked first, then submitted
 * together, in order (a store may write them as one). Windmill's form is one call.
 */
async function workflowAsCode(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const parent = await jobInWorkspace(deps, ctx, ctx.params.parent);
  if (isFinished(parent)) {
    throw new HttpError(
      409,
      'PARENT_FINISHED',
      `Job ${parent.id} has already finished (${parent.status}); it cannot start children`,
    );
  }
  const body = object(await ctx.body());
  // A worker names itself and the parent's attempt it runs: only the worker that holds the
  // parent's lease may make its calls. Without a name, only a user's token may (windmill-client
  // in a job of Windmill's shape); a worker-only token could otherwise run any script under the root.
  const caller = parseTaskCallCaller(body);
  if (caller.worker_id !== undefined) {
    assertHeld('The task call', parent, { workerId: caller.worker_id, attempt: caller.parent_attempt! });
  } else if (ctx.principal.scope === 'worker') {
    throw leaseNotHeld('The task call', [
      {
        jobId: parent.id,
        why: `a worker-only token must name the worker that runs job ${parent.id} (body.worker_id and body.parent_attempt)`,
      },
    ]);
  }
  const { script_path: scriptPath, script_hash: scriptHash, kind } = parseTaskCallScript(body);
  const script = byPath(kind) ? childScript(deps.root, kind, scriptPath) : resolveScript(deps.root, scriptPath);
  if (script.hash !== scriptHash) {
    throw new HttpError(
      409,
      'SCRIPT_HASH_MISMATCH',
      `The worker's copy of ${scriptPath} (sha256 ${scriptHash.slice(0, 12)}) differs from the server's (sha256 ${script.hash.slice(0, 12)})`,
    );
  }
  const specs = parseTaskCalls(body, kind).map((call) =>
    childSpec(call, { parent, scriptPath: script.path, scriptHash, entrypoint: ctx.params.task }),
  );
  if (Array.isArray(body.calls)) {
    const jobs = await Promise.all(specs.map((spec) => deps.coordinator.submit(spec)));
    const reply: TaskCallsReply = { ids: jobs.map((j) => j.id) };
    return { status: 201, json: reply };
  }
  return { status: 201, text: (await deps.coordinator.submit(specs[0])).id };
}

/** A call's child job: in the parent's workspace, its tag the call's (else the script's default). */
function childSpec(
  call: TaskCall,
  of: { parent: JobRecord; scriptPath: string; scriptHash: string; entrypoint: string },
): JobSpec {
  return {
    kind: call.kind ?? 'task',
    // Whole milliseconds: times are stored as integers (PostgreSQL's BIGINT refuses 0.5).
    ...(call.scheduled_in_secs !== undefined && { delayMs: Math.round(call.scheduled_in_secs * 1000) }),
    scriptPath: of.scriptPath,
    scriptHash: of.scriptHash,
    entrypoint: of.entrypoint,
    args: call.args,
    tag: call.tag,
    workspace: of.parent.workspace,
    parentJob: of.parent.id,
    callKey: call.call_key,
    timeout: call.timeout,
    retry: call.retry,
    // A key left out is the task's name (the route's entrypoint), as task() makes it.
    ...flowSpec(fromFlowFields(call, of.entrypoint)),
  };
}

function flowSpec(flowControl: FlowControl | undefined): Pick<JobSpec, 'flowControl'> {
  return flowControl ? { flowControl } : {};
}

/** The route of task calls from jobs; worker tokens reach it, but only for a parent whose lease the worker holds. */
export const taskCallRoutes: readonly RouteEntry[] = [
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs/run/workflow_as_code/{parent}/{task}',
    audience: 'worker',
    handler: workflowAsCode,
  },
];
