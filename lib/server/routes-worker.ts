import type { ClaimReply, HeartbeatReply, WaitReply } from '../http/wire.js';
import type { LogStream, NewLogLine, Outcome } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import type { Router } from './router.js';
import type { ServerDeps } from './server.js';
import { array, number, object, string, strings, tags } from './validate.js';

/** The longest a long poll is held open. */
const MAX_WAIT_MS = 60_000;

/** millrace's worker routes: claim by long poll, report starts, logs and ends, heartbeat, wait on children. */
export function workerRoutes(router: Router, deps: ServerDeps): void {
  const { store, coordinator } = deps;

  router.add('POST', '/api/w/{ws}/worker/claim', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const workerId = string(body, 'worker_id');
    const served = tags(body, 'tags');
    await store.touchWorker({ id: workerId, workspace: ctx.params.ws, tags: served, hostname: string(body, 'hostname') }, Date.now());
    const limit = number(body, 'limit');
    if (!Number.isInteger(limit) || limit < 1) throw new HttpError(400, 'BAD_REQUEST', `body.limit: expected an integer ≥ 1, got ${limit}`);
    const signal = withTimeout(ctx.signal, Math.min(number(body, 'wait_ms'), MAX_WAIT_MS));
    const jobs = await coordinator.claim(
      { workerId, tags: served, workspace: ctx.params.ws, limit, leaseMs: number(body, 'lease_ms') },
      signal,
    );
    const reply: ClaimReply = { jobs };
    return { status: 200, json: reply };
  });

  router.add('POST', '/api/w/{ws}/worker/started', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    await coordinator.started(job.id, number(body, 'at'));
    return { status: 204, text: '' };
  });

  router.add('POST', '/api/w/{ws}/worker/logs', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    const lines = array(body, 'lines').map((raw, i): NewLogLine => {
      const l = object(raw, `body.lines[${i}]`);
      const stream = l.stream === 'stderr' ? 'stderr' : ('stdout' as LogStream);
      return { ts: number(l, 'ts', `body.lines[${i}].ts`), stream, line: typeof l.line === 'string' ? l.line : String(l.line) };
    });
    await coordinator.appendLogs(job.id, lines);
    return { status: 204, text: '' };
  });

  router.add('POST', '/api/w/{ws}/worker/complete', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    const outcome = object(body.outcome, 'body.outcome') as unknown as Outcome;
    if (!['success', 'failure', 'canceled'].includes(outcome.status)) {
      throw new HttpError(400, 'BAD_REQUEST', `body.outcome.status: expected success, failure or canceled, got ${JSON.stringify(outcome.status)}`);
    }
    if (outcome.status !== 'success') object(outcome.error, 'body.outcome.error');
    await coordinator.finish(job.id, outcome, number(body, 'at'));
    return { status: 204, text: '' };
  });

  router.add('POST', '/api/w/{ws}/worker/heartbeat', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const workerId = string(body, 'worker_id');
    await store.touchWorker({ id: workerId, workspace: ctx.params.ws, tags: tags(body, 'tags'), hostname: string(body, 'hostname') }, Date.now());
    const reply: HeartbeatReply = { lost: await coordinator.renewLeases(workerId, strings(body, 'job_ids'), number(body, 'lease_ms')) };
    return { status: 200, json: reply };
  });

  // Resolves as soon as any of the jobs has finished: one request waits for a whole fan-out.
  router.add('POST', '/api/w/{ws}/worker/wait', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const ids = strings(body, 'ids');
    const signal = withTimeout(ctx.signal, Math.min(number(body, 'wait_ms'), MAX_WAIT_MS));
    for (;;) {
      const wake = coordinator.hub.next(ids.map((id) => `finished:${id}`), signal);
      const jobs = await Promise.all(ids.map((id) => store.get(id)));
      const missing = ids.find((id, i) => !jobs[i] || jobs[i]!.workspace !== ctx.params.ws);
      if (missing) {
        wake.cancel();
        throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${missing}" in workspace ${ctx.params.ws}`);
      }
      const finished = jobs.filter((j) => j!.status === 'success' || j!.status === 'failure' || j!.status === 'canceled');
      if (finished.length > 0 || signal.aborted) {
        wake.cancel();
        const reply: WaitReply = { finished: finished as WaitReply['finished'] };
        return { status: 200, json: reply };
      }
      await wake.promise;
    }
  });
}

/** A signal that aborts when `parent` does or after `ms`. */
function withTimeout(parent: AbortSignal, ms: number): AbortSignal {
  return AbortSignal.any([parent, AbortSignal.timeout(Math.max(0, ms))]);
}
