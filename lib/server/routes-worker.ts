import type { ChildReply, ClaimReply, HeartbeatReply, WaitReply } from '../http/wire.js';
import { resolveScript } from '../loader/paths.js';
import { FINISHED_STATUSES, type JobRecord, type Outcome } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { assertHeld } from './lease.js';
import type { Router } from './router.js';
import type { ServerDeps } from './server.js';
import { MAX_LEASE_MS, MAX_PAGE } from './limits.js';
import { applyReport } from './worker-report.js';
import { array, errorRecord, number, numberIn, object, optionalString, storableValue, string, strings, tags, time } from './validate.js';

/** The longest a long poll is held open. */
const MAX_WAIT_MS = 60_000;
/** How long a wait for several jobs gathers more after the first one finished. */
const LINGER_MS = 20;

/** millrace's worker routes: claim by long poll, report starts, logs and ends (worker-report.ts), heartbeat, wait on children. */
export function workerRoutes(router: Router, deps: ServerDeps): void {
  const { store, coordinator } = deps;

  router.add('POST', '/api/w/{ws}/worker/claim', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const workerId = string(body, 'worker_id');
    const served = tags(body, 'tags');
    await store.touchWorker({ id: workerId, workspace: ctx.params.ws, tags: served, hostname: string(body, 'hostname') }, Date.now());
    const limit = numberIn(body, 'limit', { min: 1, max: MAX_PAGE, integer: true });
    const signal = withTimeout(ctx.signal, Math.min(number(body, 'wait_ms'), MAX_WAIT_MS));
    const jobs = await coordinator.claim(
      { workerId, tags: served, workspace: ctx.params.ws, limit, leaseMs: leaseMs(body) },
      signal,
    );
    const reply: ClaimReply = { jobs };
    return { status: 200, json: reply };
  });

  // Durable steps: the recorded result at a call key, and recording one.
  router.add('POST', '/api/w/{ws}/worker/child', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const parent = await jobInWorkspace(deps, ctx, string(body, 'parent_job'));
    const reply: ChildReply = { job: (await coordinator.findChild(parent.id, string(body, 'call_key'))) ?? null };
    return { status: 200, json: reply };
  });
  router.add('POST', '/api/w/{ws}/worker/step', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const parent = await jobInWorkspace(deps, ctx, string(body, 'parent_job'));
    assertHeld('The step', parent, { workerId: string(body, 'worker_id'), attempt: number(body, 'parent_attempt') });
    const outcome = object(body.outcome, 'body.outcome') as unknown as Outcome;
    if (outcome.status !== 'success') throw new HttpError(400, 'BAD_REQUEST', `body.outcome.status: expected success, got ${JSON.stringify(outcome.status)}`);
    storableValue(outcome.result ?? null, 'body.outcome.result');
    const script = resolveScript(deps.root, string(body, 'script_path'));
    const job = await coordinator.recordStep(
      {
        kind: 'step',
        scriptPath: script.path,
        scriptHash: string(body, 'script_hash'),
        entrypoint: string(body, 'name'),
        args: [],
        tag: parent.tag,
        workspace: parent.workspace,
        parentJob: parent.id,
        callKey: string(body, 'call_key'),
      },
      outcome,
      time(body, 'started_at'),
      time(body, 'at'),
    );
    return { status: 200, json: { job } };
  });

  // Many reports in one request, applied in order, each on its own (see applyReport): a busy
  // worker sends one per tick.
  router.add('POST', '/api/w/{ws}/worker/report', 'worker', async (ctx) => {
    return { status: 200, json: await applyReport(deps, ctx) };
  });
  // getJobStatus / getResult and cancelJob called by a job on a remote worker.
  router.add('POST', '/api/w/{ws}/worker/job', 'worker', async (ctx) => {
    const id = string(object(await ctx.body()), 'job_id');
    const job = await store.get(id);
    return { status: 200, json: { job: job && job.workspace === ctx.params.ws ? job : null } };
  });
  router.add('POST', '/api/w/{ws}/worker/cancel', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    if (!FINISHED_STATUSES.includes(job.status)) await coordinator.cancel(job.id, { reason: optionalString(body, 'reason') ?? 'canceled', by: 'job' });
    return { status: 204, text: '' };
  });

  router.add('POST', '/api/w/{ws}/worker/heartbeat', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const workerId = string(body, 'worker_id');
    await store.touchWorker({ id: workerId, workspace: ctx.params.ws, tags: tags(body, 'tags'), hostname: string(body, 'hostname') }, Date.now());
    const reply: HeartbeatReply = { lost: await coordinator.renewLeases(workerId, strings(body, 'job_ids'), leaseMs(body)) };
    return { status: 200, json: reply };
  });

  // Resolves when all the jobs have finished, or a short while after the first of them did
  // (LINGER_MS), with every one finished by then: one request waits for a whole fan-out, and
  // a fan-out of 1,000 costs a few dozen answers rather than 1,000.
  router.add('POST', '/api/w/{ws}/worker/wait', 'worker', async (ctx) => {
    const body = object(await ctx.body());
    const ids = strings(body, 'ids');
    const signal = withTimeout(ctx.signal, Math.min(number(body, 'wait_ms'), MAX_WAIT_MS));
    const finished = new Map<string, JobRecord>();
    let ready!: () => void;
    const some = new Promise<void>((resolve) => (ready = resolve));
    let linger: NodeJS.Timeout | undefined;
    const offs = ids.map((id) =>
      coordinator.onFinished(id, (job) => {
        finished.set(id, job);
        if (finished.size === ids.length) setImmediate(ready);
        else linger ??= setTimeout(ready, LINGER_MS);
      }),
    );
    const onAbort = () => ready();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const done = await store.list({ ids, status: [...FINISHED_STATUSES], workspace: ctx.params.ws, limit: ids.length });
      for (const job of done) finished.set(job.id, job);
      // A wait for one job (a client waiting on its run) learns at once of an unknown id; a
      // worker's batch holds ids it was just given by the server.
      if (ids.length === 1 && finished.size === 0 && (await store.get(ids[0]))?.workspace !== ctx.params.ws) {
        throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${ids[0]}" in workspace ${ctx.params.ws}`);
      }
      if (finished.size === 0 && !signal.aborted) await some;
      const reply: WaitReply = { finished: [...finished.values()] };
      return { status: 200, json: reply };
    } finally {
      clearTimeout(linger);
      for (const off of offs) off();
      signal.removeEventListener('abort', onAbort);
    }
  });
}

/** A lease a worker asks for: whole milliseconds, at most MAX_LEASE_MS. */
function leaseMs(body: Record<string, unknown>): number {
  return numberIn(body, 'lease_ms', { min: 1, max: MAX_LEASE_MS, integer: true });
}

/**
 * A signal that aborts when `parent` does or after `ms`. (AbortSignal.any and
 * AbortSignal.timeout cost a DOMException per long poll; this costs a timer.)
 */
function withTimeout(parent: AbortSignal, ms: number): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    clearTimeout(timer);
    parent.removeEventListener('abort', abort);
    controller.abort('done'); // a reason of its own: the default one is a DOMException, built each time
  };
  const timer = setTimeout(abort, Math.max(0, ms));
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  return controller.signal;
}
