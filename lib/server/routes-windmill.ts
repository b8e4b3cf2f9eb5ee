import { parseTraceparent } from '../tracing/ids.js';
import { scriptJobSpec } from '../loader/script-job.js';
import type { CancelJobBody } from '../http/wire.js';
import { logText, toWindmillJob, windmillResult } from '../http/windmill.js';
import { decode } from '../serialize.js';
import { isFinished, type JobRecord, type JobStatus } from '../types.js';
import { flowJobSpec } from '../flow/submission.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { parseCancelJob } from './parse-jobs.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { MAX_CURSOR, MAX_DELAY_SECS, MAX_PAGE, MAX_TIMEOUT_SECS } from './limits.js';
import { object, queryBool, queryNumber, storableValue } from './validate.js';

/** Submits a script by path; answers 201 with its id. */
async function runScript(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await submitScript(deps, ctx);
  return { status: 201, text: job.id };
}

/** Submits a script by path and answers with its result once it has finished. */
async function runScriptWaitResult(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return waitResult(ctx, deps, await submitScript(deps, ctx));
}

/** Submits a flow by path; answers 201 with its id. */
async function runFlow(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await submitScript(deps, ctx, flowJobSpec);
  return { status: 201, text: job.id };
}

/** Submits a flow by path and answers with its result once it has finished. */
async function runFlowWaitResult(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return waitResult(ctx, deps, await submitScript(deps, ctx, flowJobSpec));
}

async function waitResult(ctx: RouteContext, deps: ServerDeps, job: JobRecord): Promise<Reply> {
  const done = await deps.coordinator.waitFinished(job.id, ctx.signal);
  if (!isFinished(done)) return undefined; // the client went away
  return { status: done.status === 'success' ? 200 : 422, json: windmillResult(done) };
}

/** The job in Windmill's shape, with its log, its children's timing and a flow's status. */
async function getJob(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const { store } = deps;
  const job = await jobInWorkspace(deps, ctx);
  const [lines, children, flowStatus] = await Promise.all([
    store.readLogs(job.id),
    store.list({ parentJob: job.id, limit: 10_000 }),
    job.kind === 'flow' ? store.getFlowStatus(job.id) : undefined,
  ]);
  return {
    status: 200,
    json: {
      ...toWindmillJob(job, lines, children.reverse()),
      ...(flowStatus !== undefined && { flow_status: flowStatus }),
    },
  };
}

async function getResult(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  if (!isFinished(job))
    throw new HttpError(404, 'NOT_COMPLETED', `Job ${job.id} has not completed yet (${job.status})`);
  return { status: 200, json: windmillResult(job) };
}

async function getResultMaybe(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const completed = isFinished(job);
  return {
    status: 200,
    json: {
      completed,
      started: job.startedAt !== null,
      ...(completed && { success: job.status === 'success', result: windmillResult(job) }),
    },
  };
}

async function getUpdate(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const after = queryNumber(ctx.query, 'log_offset', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
  return { status: 200, json: await update(deps, job, after) };
}

/** The same updates as server-sent events, one each time the job starts, logs or finishes. */
async function getUpdateSse(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  let job = await jobInWorkspace(deps, ctx);
  let after = queryNumber(ctx.query, 'log_offset', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
  ctx.res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  });
  while (!ctx.signal.aborted) {
    const wake = deps.coordinator.nextChange(job.id, ctx.signal);
    const u = await update(deps, job, after);
    if (u.new_logs || after === 0 || u.completed) ctx.res.write(`data: ${JSON.stringify(u)}\n\n`);
    after = u.log_offset;
    if (u.completed) {
      wake.cancel();
      break;
    }
    await wake.promise;
    job = (await deps.store.get(job.id))!;
  }
  ctx.res.end();
  return undefined;
}

async function cancelQueued(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const body: CancelJobBody = parseCancelJob(await ctx.body());
  if (isFinished(job))
    throw new HttpError(
      400,
      'ALREADY_FINISHED',
      `Job ${job.id} has already finished (${job.status}); nothing to cancel`,
    );
  await deps.coordinator.cancel(job.id, { reason: body.reason ?? 'canceled', by: ctx.principal.label });
  return { status: 200, text: `job ${job.id} canceled` };
}

async function listJobs(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const q = ctx.query;
  const running = queryBool(q, 'running');
  const success = queryBool(q, 'success');
  let status: JobStatus[] | undefined;
  if (running === true) status = ['running'];
  else if (success === true) status = ['success'];
  else if (success === false) status = ['failure', 'canceled'];
  const jobs = await store.list({
    workspace: ctx.params.ws,
    status,
    tag: q.get('tag') ?? undefined,
    scriptPath: q.get('script_path_exact') ?? undefined,
    parentJob: q.get('parent_job') ?? undefined,
    limit: queryNumber(q, 'per_page', { min: 1, max: MAX_PAGE, integer: true }) ?? 50,
  });
  return { status: 200, json: jobs.map((j) => ({ ...toWindmillJob(j, [], []), logs: undefined })) };
}

/** The Windmill-compatible subset of the job API (docs/http-api.md), so windmill-client works unchanged. Task calls are in routes-task-calls.ts. */
export const windmillRoutes: readonly RouteEntry[] = [
  { method: 'POST', pattern: '/api/w/{ws}/jobs/run/p/{path*}', audience: 'user', handler: runScript },
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs/run_wait_result/p/{path*}',
    audience: 'user',
    handler: runScriptWaitResult,
  },
  { method: 'POST', pattern: '/api/w/{ws}/jobs/run/f/{path*}', audience: 'user', handler: runFlow },
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs/run_wait_result/f/{path*}',
    audience: 'user',
    handler: runFlowWaitResult,
  },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/get/{id}', audience: 'user', handler: getJob },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/completed/get_result/{id}', audience: 'user', handler: getResult },
  {
    method: 'GET',
    pattern: '/api/w/{ws}/jobs_u/completed/get_result_maybe/{id}',
    audience: 'user',
    handler: getResultMaybe,
  },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/getupdate/{id}', audience: 'user', handler: getUpdate },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/getupdate_sse/{id}', audience: 'user', handler: getUpdateSse },
  { method: 'POST', pattern: '/api/w/{ws}/jobs_u/queue/cancel/{id}', audience: 'user', handler: cancelQueued },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/list', audience: 'user', handler: listJobs },
];

async function submitScript(
  deps: ServerDeps,
  ctx: RouteContext,
  specOf: typeof scriptJobSpec = scriptJobSpec,
): Promise<JobRecord> {
  const raw = await ctx.body();
  // Args arrive as JSON; values a millrace client encoded (a Date…) are decoded, then encoded again below.
  const args =
    raw === undefined ? {} : (decode(storableValue(object(raw, 'body (the args)'), 'args')) as Record<string, unknown>);
  const q = ctx.query;
  const spec = specOf(deps.root, {
    path: ctx.params.path,
    args,
    tag: q.get('tag') || undefined,
    workspace: ctx.params.ws,
  });
  const parentId = q.get('parent_job');
  if (parentId) spec.parentJob = (await jobInWorkspace(deps, ctx, parentId)).id;
  const delay = queryNumber(q, 'scheduled_in_secs', { min: 0, max: MAX_DELAY_SECS });
  if (delay !== undefined) spec.delayMs = Math.round(delay * 1000); // whole ms: times are stored as integers
  const timeout = queryNumber(q, 'timeout', { min: 0, max: MAX_TIMEOUT_SECS });
  if (timeout !== undefined) spec.timeout = timeout;
  // Idempotency-Key (the header of the IETF draft) or idempotency_key: a key seen before
  // returns the job first submitted with it, so a client may retry a request it got no answer to.
  const key = q.get('idempotency_key') ?? (ctx.req.headers['idempotency-key'] as string | undefined);
  if (key !== undefined && key !== null) {
    if (key.length === 0 || key.length > 255)
      throw new HttpError(400, 'BAD_REQUEST', `idempotency key: expected 1 to 255 characters, got ${key.length}`);
    spec.idempotencyKey = key;
  }
  // A W3C traceparent: the run joins the caller's trace (docs/operations.md).
  const traceparent = ctx.req.headers.traceparent;
  if (typeof traceparent === 'string') spec.trace = parseTraceparent(traceparent);
  const id = q.get('job_id');
  if (id) {
    if (!/^[\w-]{1,64}$/.test(id))
      throw new HttpError(
        400,
        'BAD_REQUEST',
        `query job_id: expected letters, digits, - or _, got ${JSON.stringify(id)}`,
      );
    if (await deps.store.get(id)) throw new HttpError(409, 'JOB_EXISTS', `A job with id "${id}" already exists`);
    spec.id = id;
  }
  return deps.coordinator.submit(spec);
}

/** Windmill's getupdate shape; `log_offset` is millrace's log cursor, opaque to clients. */
async function update(deps: ServerDeps, job: JobRecord, after: number) {
  const lines = await deps.store.readLogs(job.id, { after });
  const completed = isFinished(job);
  return {
    running: job.status === 'running' && job.startedAt !== null,
    completed,
    new_logs: logText(lines),
    log_offset: lines.length ? lines[lines.length - 1].seq : after,
    ...(completed && { success: job.status === 'success', result: windmillResult(job) }),
  };
}
