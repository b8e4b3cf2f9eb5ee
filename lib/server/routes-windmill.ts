import { isFinished } from '../engine/coordinator.js';
import { scriptJobSpec } from '../engine/submission.js';
import { logText, toWindmillJob, windmillResult } from '../http/windmill.js';
import { resolveScript } from '../loader/paths.js';
import { decode } from '../serialize.js';
import type { JobKind, JobRecord, JobSpec, JobStatus } from '../types.js';
import { childScript } from '../flow/run-request.js';
import { flowJobSpec } from '../flow/submission.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { assertHeld, leaseNotHeld } from './lease.js';
import type { Router, RouteContext } from './router.js';
import type { ServerDeps } from './server.js';
import { MAX_CURSOR, MAX_DELAY_SECS, MAX_PAGE, MAX_TIMEOUT_SECS } from './limits.js';
import { array, numberIn, object, optionalNumberIn, optionalString, queryBool, queryNumber, retryOptions, storableValue, string } from './validate.js';

/** The Windmill-compatible subset of the job API (docs/http-api.md), so windmill-client works unchanged. */
export function windmillRoutes(router: Router, deps: ServerDeps): void {
  const { store, coordinator } = deps;

  router.add('POST', '/api/w/{ws}/jobs/run/p/{path*}', 'user', async (ctx) => {
    const job = await submitScript(deps, ctx);
    return { status: 201, text: job.id };
  });

  router.add('POST', '/api/w/{ws}/jobs/run_wait_result/p/{path*}', 'user', async (ctx) => {
    const job = await submitScript(deps, ctx);
    const done = await coordinator.waitFinished(job.id, ctx.signal);
    if (!isFinished(done)) return undefined; // the client went away
    return { status: done.status === 'success' ? 200 : 422, json: windmillResult(done) };
  });

  router.add('POST', '/api/w/{ws}/jobs/run/f/{path*}', 'user', async (ctx) => {
    const job = await submitScript(deps, ctx, flowJobSpec);
    return { status: 201, text: job.id };
  });

  router.add('POST', '/api/w/{ws}/jobs/run_wait_result/f/{path*}', 'user', async (ctx) => {
    const job = await submitScript(deps, ctx, flowJobSpec);
    const done = await coordinator.waitFinished(job.id, ctx.signal);
    if (!isFinished(done)) return undefined; // the client went away
    return { status: done.status === 'success' ? 200 : 422, json: windmillResult(done) };
  });

  // A task call from a job on a remote worker: the child job, linked to its parent.
  router.add('POST', '/api/w/{ws}/jobs/run/workflow_as_code/{parent}/{entrypoint}', 'worker', async (ctx) => {
    const parent = await jobInWorkspace(deps, ctx, ctx.params.parent);
    if (isFinished(parent)) {
      throw new HttpError(409, 'PARENT_FINISHED', `Job ${parent.id} has already finished (${parent.status}); it cannot start children`);
    }
    const body = object(await ctx.body());
    // A worker names itself and the parent's attempt it runs: only the worker that holds the
    // parent's lease may make its calls. Without a name, only a user's token may (windmill-client
    // in a job of Windmill's shape); a worker-only token could otherwise run any script under the root.
    const workerId = optionalString(body, 'worker_id');
    if (workerId !== undefined) {
      assertHeld('The task call', parent, { workerId, attempt: numberIn(body, 'parent_attempt', { min: 0, max: 2 ** 31, integer: true }) });
    } else if (ctx.principal.scope === 'worker') {
      throw leaseNotHeld('The task call', [
        { jobId: parent.id, why: `a worker-only token must name the worker that runs job ${parent.id} (body.worker_id and body.parent_attempt)` },
      ]);
    }
    const scriptPath = string(body, 'script_path');
    const scriptHash = string(body, 'script_hash');
    // A task call, a durable sleep, or (runScript, runFlow, a flow's step) a script, flow or
    // flow step by path. The kind is the body's, or each call's in a batch.
    const bodyKind = optionalString(body, 'kind') ?? 'task';
    const kinds: readonly JobKind[] = ['task', 'sleep', 'script', 'flow', 'flowstep'];
    if (!kinds.includes(bodyKind as JobKind)) {
      throw new HttpError(400, 'BAD_REQUEST', `body.kind: expected task, sleep, script, flow or flowstep, got ${JSON.stringify(bodyKind)}`);
    }
    const byPath = bodyKind === 'script' || bodyKind === 'flow' || bodyKind === 'flowstep';
    const script = byPath ? childScript(deps.root, bodyKind, scriptPath) : resolveScript(deps.root, scriptPath);
    if (script.hash !== scriptHash) {
      throw new HttpError(409, 'SCRIPT_HASH_MISMATCH', `The worker's copy of ${scriptPath} (sha256 ${scriptHash.slice(0, 12)}) differs from the server's (sha256 ${script.hash.slice(0, 12)})`);
    }
    /** A call's job, checked (it throws on a bad field before anything is submitted). */
    const specOf = (call: Record<string, unknown>, field: string): JobSpec => {
      const retry = call.retry === undefined ? undefined : retryOptions(call.retry, `${field}.retry`);
      const kind = (optionalString(call, 'kind', `${field}.kind`) ?? bodyKind) as JobKind;
      if (kind !== bodyKind && (byPath || (kind !== 'task' && kind !== 'sleep'))) {
        throw new HttpError(400, 'BAD_REQUEST', `${field}.kind: expected "task" or "sleep" in a batch of kind ${JSON.stringify(bodyKind)}, got ${JSON.stringify(kind)}`);
      }
      const delaySecs = optionalNumberIn(call, 'scheduled_in_secs', { min: 0, max: MAX_DELAY_SECS }, `${field}.scheduled_in_secs`);
      return {
        kind,
        // Whole milliseconds: times are stored as integers (PostgreSQL's BIGINT refuses 0.5).
        ...(delaySecs !== undefined && { delayMs: Math.round(delaySecs * 1000) }),
        scriptPath: script.path,
        scriptHash,
        entrypoint: ctx.params.entrypoint,
        args: storableValue(!byPath ? array(call, 'args', `${field}.args`) : object(call.args, `${field}.args`), `${field}.args`),
        tag: optionalString(call, 'tag', `${field}.tag`),
        workspace: parent.workspace,
        parentJob: parent.id,
        callKey: optionalString(call, 'call_key', `${field}.call_key`),
        timeout: optionalNumberIn(call, 'timeout', { min: 0, max: MAX_TIMEOUT_SECS }, `${field}.timeout`),
        retry,
      };
    };
    // millrace's workers send the calls a job made in one tick (a fan-out) as one batch: all
    // checked first, then submitted together, in order (a store may write them as one).
    if (Array.isArray(body.calls)) {
      const specs = body.calls.map((call, i) => specOf(object(call, `body.calls[${i}]`), `body.calls[${i}]`));
      const jobs = await Promise.all(specs.map((spec) => coordinator.submit(spec)));
      return { status: 201, json: { ids: jobs.map((j) => j.id) } };
    }
    return { status: 201, text: (await coordinator.submit(specOf(body, 'body'))).id };
  });

  router.add('GET', '/api/w/{ws}/jobs_u/get/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const [lines, children, flowStatus] = await Promise.all([
      store.readLogs(job.id),
      store.list({ parentJob: job.id, limit: 10_000 }),
      job.kind === 'flow' ? store.getFlowStatus(job.id) : undefined,
    ]);
    return { status: 200, json: { ...toWindmillJob(job, lines, children.reverse()), ...(flowStatus !== undefined && { flow_status: flowStatus }) } };
  });

  router.add('GET', '/api/w/{ws}/jobs_u/completed/get_result/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    if (!isFinished(job)) throw new HttpError(404, 'NOT_COMPLETED', `Job ${job.id} has not completed yet (${job.status})`);
    return { status: 200, json: windmillResult(job) };
  });

  router.add('GET', '/api/w/{ws}/jobs_u/completed/get_result_maybe/{id}', 'user', async (ctx) => {
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
  });

  router.add('GET', '/api/w/{ws}/jobs_u/getupdate/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const after = queryNumber(ctx.query, 'log_offset', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
    return { status: 200, json: await update(deps, job, after) };
  });

  router.add('GET', '/api/w/{ws}/jobs_u/getupdate_sse/{id}', 'user', async (ctx) => {
    let job = await jobInWorkspace(deps, ctx);
    let after = queryNumber(ctx.query, 'log_offset', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
    ctx.res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    while (!ctx.signal.aborted) {
      const wake = coordinator.nextChange(job.id, ctx.signal);
      const u = await update(deps, job, after);
      if (u.new_logs || after === 0 || u.completed) ctx.res.write(`data: ${JSON.stringify(u)}\n\n`);
      after = u.log_offset;
      if (u.completed) {
        wake.cancel();
        break;
      }
      await wake.promise;
      job = (await store.get(job.id))!;
    }
    ctx.res.end();
    return undefined;
  });

  router.add('POST', '/api/w/{ws}/jobs_u/queue/cancel/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const body = (await ctx.body()) ?? {};
    const reason = optionalString(object(body), 'reason') ?? 'canceled';
    if (isFinished(job)) throw new HttpError(400, 'ALREADY_FINISHED', `Job ${job.id} has already finished (${job.status}); nothing to cancel`);
    await coordinator.cancel(job.id, { reason, by: ctx.principal.label });
    return { status: 200, text: `job ${job.id} canceled` };
  });

  router.add('GET', '/api/w/{ws}/jobs/list', 'user', async (ctx) => {
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
  });
}

async function submitScript(deps: ServerDeps, ctx: RouteContext, specOf: typeof scriptJobSpec = scriptJobSpec): Promise<JobRecord> {
  const raw = await ctx.body();
  // Args arrive as JSON; values a millrace client encoded (a Date…) are decoded, then encoded again below.
  const args = raw === undefined ? {} : (decode(storableValue(object(raw, 'body (the args)'), 'args')) as Record<string, unknown>);
  const q = ctx.query;
  const spec = specOf(deps.root, { path: ctx.params.path, args, tag: q.get('tag') || undefined, workspace: ctx.params.ws });
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
    if (key.length === 0 || key.length > 255) throw new HttpError(400, 'BAD_REQUEST', `idempotency key: expected 1 to 255 characters, got ${key.length}`);
    spec.idempotencyKey = key;
  }
  const id = q.get('job_id');
  if (id) {
    if (!/^[\w-]{1,64}$/.test(id)) throw new HttpError(400, 'BAD_REQUEST', `query job_id: expected letters, digits, - or _, got ${JSON.stringify(id)}`);
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
