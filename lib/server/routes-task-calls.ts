import { canonicalJson } from '../engine/same-call.js';
import type { StepReply, TaskCall, TaskCallsReply } from '../http/wire.js';
import { windmillStepCallKey } from '../windmill/protocol.js';
import { ArgsError, ParentNotHeldError, UnknownEntrypointError, UnknownParentError } from '../errors.js';
import { checkArgs } from '../loader/args.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import type { HeldLease } from '../store/store.js';
import { isFinished, type FlowControl, type JobRecord, type JobSpec } from '../types.js';
import { fromFlowFields } from '../http/flow-control-wire.js';
import { childScript } from '../flow/run-request.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { assertHeld, leaseNotHeld } from './lease.js';
import {
  byPath,
  isEntrypointCall,
  parseEntrypointCall,
  parseInlineCheckpoint,
  parseTaskCallCaller,
  parseTaskCalls,
  parseTaskCallScript,
} from './parse-task-calls.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { object } from './validate.js';

/** A taken child's lease when the worker names none (a claim's default). */
const DEFAULT_LEASE_MS = 30_000;

/**
 * A task call from a job on a remote worker (or, by path, runScript, runFlow and a flow's
 * steps): the child jobs, linked to their parent. millrace's workers send the calls a job
 * made in one tick (a fan-out) as one batch, `{calls}`: all checked first, then submitted
 * together, in order (a store may write them as one). Windmill's form is one call.
 *
 * A worker names itself and the parent's attempt it runs: only the worker that holds the
 * parent's lease may make its calls. In the batched form that check goes into the inserts
 * (Store.enqueue's parentHeld), and the parent is read only to say why they were refused;
 * otherwise the parent is read and checked first.
 */
async function workflowAsCode(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const body = object(await ctx.body());
  const caller = parseTaskCallCaller(body);
  const held: HeldLease | undefined =
    caller.worker_id === undefined
      ? undefined
      : { workerId: caller.worker_id, attempt: caller.parent_attempt!, workspace: ctx.params.ws };
  const parent = held && Array.isArray(body.calls) ? undefined : await callersParent(deps, ctx, held);
  if (isEntrypointCall(body)) return entrypointCall(ctx, deps, parent!, body);
  const { script_path: scriptPath, script_hash: scriptHash, kind } = parseTaskCallScript(body);
  const script = byPath(kind) ? childScript(deps.root, kind, scriptPath) : resolveScript(deps.root, scriptPath);
  if (script.hash !== scriptHash) {
    throw new HttpError(
      409,
      'SCRIPT_HASH_MISMATCH',
      `The worker's copy of ${scriptPath} (sha256 ${scriptHash.slice(0, 12)}) differs from the server's (sha256 ${script.hash.slice(0, 12)})`,
    );
  }
  const calls = parseTaskCalls(body, kind);
  const taking = calls.find((c) => c.take_id !== undefined);
  if (taking && (caller.worker_id === undefined || !Array.isArray(body.calls))) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${Array.isArray(body.calls) ? `body.calls[${calls.indexOf(taking)}]` : 'body'}.take_id: a child is taken by the worker that calls, in millrace's batched form: body.calls, body.worker_id and body.parent_attempt are expected with it`,
    );
  }
  const specs = calls.map((call) =>
    childSpec(call, {
      workspace: ctx.params.ws,
      parentJob: ctx.params.parent,
      scriptPath: script.path,
      scriptHash,
      entrypoint: ctx.params.task,
    }),
  );
  // A refused insert: the parent read to say why (a 404, PARENT_FINISHED or LEASE_NOT_HELD).
  const explained = async (err: unknown): Promise<never> => {
    if (err instanceof ParentNotHeldError || err instanceof UnknownParentError) await callersParent(deps, ctx, held);
    throw err;
  };
  if (Array.isArray(body.calls)) {
    // A call with a take_id: its child is recorded already claimed by the calling worker, which has room for it.
    const claim = { workerId: caller.worker_id!, leaseMs: caller.lease_ms ?? DEFAULT_LEASE_MS };
    const jobs = await Promise.all(
      specs.map((spec, i) => {
        const { take_id: id, ended, taken_at: takenAt } = calls[i];
        if (id === undefined) return deps.coordinator.submit(spec, undefined, held);
        const taking = { ...claim, ...(takenAt !== undefined && { takenAt }) };
        if (ended === undefined) return deps.coordinator.submit({ ...spec, id }, taking, held);
        // A child that ran on the calling worker before it was recorded: recorded finished.
        const end = { result: ended.result, startedAt: ended.started_at, at: ended.at, parentAttempt: held!.attempt };
        return deps.coordinator.submit({ ...spec, id }, { ...taking, ended: end }, held);
      }),
    ).catch(explained);
    const taken = jobs.filter(
      (j, i) =>
        j.id === calls[i].take_id &&
        j.worker === claim.workerId &&
        j.status === (calls[i].ended === undefined ? 'running' : 'success'),
    );
    const reply: TaskCallsReply = { ids: jobs.map((j) => j.id), ...(taken.length > 0 && { taken }) };
    return { status: 201, json: reply };
  }
  return { status: 201, text: (await deps.coordinator.submit(specs[0], undefined, held).catch(explained)).id };
}

/**
 * The parent of a task call, read and checked: in the route's workspace (else 404), not
 * finished, and held by the calling worker (`held`). Without a worker named, only a user's token
 * may call (windmill-client in a job of Windmill's shape); a worker-only token could otherwise
 * run any script under the root.
 */
async function callersParent(deps: ServerDeps, ctx: RouteContext, held: HeldLease | undefined): Promise<JobRecord> {
  const parent = await jobInWorkspace(deps, ctx, ctx.params.parent);
  if (isFinished(parent)) {
    throw new HttpError(
      409,
      'PARENT_FINISHED',
      `Job ${parent.id} has already finished (${parent.status}); it cannot start children`,
    );
  }
  if (held) assertHeld('The task call', parent, held);
  else if (ctx.principal.scope === 'worker') {
    throw leaseNotHeld('The task call', [
      {
        jobId: parent.id,
        why: `a worker-only token must name the worker that runs job ${parent.id} (body.worker_id and body.parent_attempt)`,
      },
    ]);
  }
  return parent;
}

/**
 * Windmill's v1 task call (EntrypointCallBody): the parent's own script, checked against the
 * server's copy, its exported function `{task}` called with the args by name, as a child of the
 * parent. A Windmill workflow script's child runs through the Windmill runner, which calls that
 * export instead of the workflow (worker/run-request.ts); a plain script's, on a thread.
 */
async function entrypointCall(
  ctx: RouteContext,
  deps: ServerDeps,
  parent: JobRecord,
  body: Record<string, unknown>,
): Promise<Reply> {
  const { args } = parseEntrypointCall(body);
  const entrypoint = ctx.params.task;
  if (parent.kind !== 'script' && parent.kind !== 'task') {
    throw new HttpError(
      422,
      'BAD_PARENT',
      `Job ${parent.id} is a ${parent.kind} job: a task call by entrypoint (no body.script_path) runs the parent's own script, so it expects a job of a script (kind script or task)`,
    );
  }
  const script = resolveScript(deps.root, parent.scriptPath);
  if (script.hash !== parent.scriptHash) {
    throw new HttpError(
      409,
      'SCRIPT_HASH_MISMATCH',
      `The server's copy of ${parent.scriptPath} (sha256 ${script.hash.slice(0, 12)}) differs from the one job ${parent.id} runs (sha256 ${parent.scriptHash.slice(0, 12)})`,
    );
  }
  const sig = inferSignatureOfFile(script.file, script.hash, { entrypoint });
  if (!sig.hasMain) throw new UnknownEntrypointError(script.path, entrypoint, sig.exports);
  const problems = checkArgs(sig, args, { entrypoint });
  if (problems.length > 0) throw new ArgsError(`${script.path}'s ${entrypoint}`, problems);
  const job = await deps.coordinator.submit({
    kind: 'script',
    scriptPath: script.path,
    scriptHash: script.hash,
    entrypoint,
    args,
    workspace: parent.workspace,
    parentJob: parent.id,
  });
  return { status: 201, text: job.id };
}

/** A call's child job: in the parent's workspace, its tag the call's (else the script's default). */
function childSpec(
  call: TaskCall,
  of: { workspace: string; parentJob: string; scriptPath: string; scriptHash: string; entrypoint: string },
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
    workspace: of.workspace,
    parentJob: of.parentJob,
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

/**
 * Windmill's inline checkpoint (`jobs/wac/inline_checkpoint/{id}`): a `step()`'s result, recorded
 * as a step child of an unfinished job by its key, as the job's own loopback route records it
 * (windmill/sdk-routes.ts) and through the same record a remote worker's step takes. The first
 * record at a key stands: another value at a recorded key is 409 STEP_RECORDED, and the
 * workflow's next round replays the recorded value.
 */
async function inlineCheckpoint(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  if (isFinished(job)) {
    throw new HttpError(
      409,
      'JOB_FINISHED',
      `Job ${job.id} has finished (${job.status}): a step can be recorded only for a job that has not`,
    );
  }
  const body = parseInlineCheckpoint(object(await ctx.body()));
  const at = Date.now();
  const startedAt = body.started_at !== undefined ? Date.parse(body.started_at) : at - (body.duration_ms ?? 0);
  const step = await deps.coordinator.recordStep(
    {
      kind: 'step',
      scriptPath: job.scriptPath,
      scriptHash: job.scriptHash,
      entrypoint: body.key,
      args: [],
      tag: job.tag,
      workspace: job.workspace,
      parentJob: job.id,
      callKey: windmillStepCallKey(body.key),
    },
    { status: 'success', result: body.result },
    Math.min(startedAt, at),
    at,
  );
  if (canonicalJson(step.result) !== canonicalJson(body.result)) {
    throw new HttpError(
      409,
      'STEP_RECORDED',
      `Step "${body.key}" of job ${job.id} was recorded earlier with another value (step job ${step.id}): the first record stands`,
    );
  }
  const reply: StepReply = { job: step };
  return { status: 200, json: reply };
}

/** The route of task calls from jobs; worker tokens reach it, but only for a parent whose lease the worker holds. */
export const taskCallRoutes: readonly RouteEntry[] = [
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs/wac/inline_checkpoint/{id}',
    audience: 'user',
    handler: inlineCheckpoint,
  },
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs/run/workflow_as_code/{parent}/{task}',
    audience: 'worker',
    handler: workflowAsCode,
  },
];
