import type { ChildReply, ClaimReply, HeartbeatReply, WaitReply } from '../http/wire.js';
import { resolveScript } from '../loader/paths.js';
import { FINISHED_STATUSES, type JobRecord, type LogStream, type NewLogLine, type Outcome } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import type { RouteContext, Router } from './router.js';
import type { ServerDeps } from './server.js';
import { MAX_LEASE_MS, MAX_PAGE } from './limits.js';
import { array, errorRecord, number, numberIn, object, optionalString, storableValue, string, strings, tags, time } from './validate.js';

/** The longest a long poll is held open. */
const MAX_WAIT_MS = 60_000;
/** How long a wait for several jobs gathers more after the first one finished. */
const LINGER_MS = 20;

/** millrace's worker routes: claim by long poll, report starts, logs and ends, heartbeat, wait on children. */
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

  // What a worker reports of its jobs: when each started, its log lines, how it ended.
  const started = async (ctx: RouteContext, body: Record<string, unknown>) => {
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    await coordinator.started(job.id, time(body, 'at'));
  };
  const logs = async (ctx: RouteContext, body: Record<string, unknown>, field = 'body') => {
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    const lines = array(body, 'lines').map((raw, i): NewLogLine => {
      const l = object(raw, `${field}.lines[${i}]`);
      const stream = l.stream === 'stderr' ? 'stderr' : ('stdout' as LogStream);
      return { ts: time(l, 'ts', `${field}.lines[${i}].ts`), stream, line: typeof l.line === 'string' ? l.line : String(l.line) };
    });
    await coordinator.appendLogs(job.id, lines);
  };
  const complete = async (ctx: RouteContext, body: Record<string, unknown>, field = 'body') => {
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    const outcome = object(body.outcome, `${field}.outcome`) as unknown as Outcome;
    if (!['success', 'failure', 'canceled'].includes(outcome.status)) {
      throw new HttpError(400, 'BAD_REQUEST', `${field}.outcome.status: expected success, failure or canceled, got ${JSON.stringify(outcome.status)}`);
    }
    if (outcome.status === 'success') storableValue(outcome.result ?? null, `${field}.outcome.result`);
    else errorRecord(outcome.error, `${field}.outcome.error`);
    await coordinator.finish(job.id, outcome, time(body, 'at', `${field}.at`));
  };

  const release = async (ctx: RouteContext, body: Record<string, unknown>, field = 'body') => {
    const job = await jobInWorkspace(deps, ctx, string(body, 'job_id'));
    const error = errorRecord(body.error, `${field}.error`);
    await coordinator.release(job.id, error, time(body, 'at', `${field}.at`));
  };

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

  router.add('POST', '/api/w/{ws}/worker/started', 'worker', async (ctx) => {
    await started(ctx, object(await ctx.body()));
    return { status: 204, text: '' };
  });
  router.add('POST', '/api/w/{ws}/worker/logs', 'worker', async (ctx) => {
    await logs(ctx, object(await ctx.body()));
    return { status: 204, text: '' };
  });
  router.add('POST', '/api/w/{ws}/worker/complete', 'worker', async (ctx) => {
    await complete(ctx, object(await ctx.body()));
    return { status: 204, text: '' };
  });

  // Many reports in one request, applied in order: a busy worker sends one per tick.
  router.add('POST', '/api/w/{ws}/worker/report', 'worker', async (ctx) => {
    const events = array(object(await ctx.body()), 'events');
    for (let i = 0; i < events.length; i++) {
      const field = `body.events[${i}]`;
      const event = object(events[i], field);
      switch (event.type) {
        case 'started':
          await started(ctx, event);
          break;
        case 'logs':
          await logs(ctx, event, field);
          break;
        case 'complete':
          await complete(ctx, event, field);
          break;
        case 'release':
          await release(ctx, event, field);
          break;
        case 'flow_status': {
          const job = await jobInWorkspace(deps, ctx, string(event, 'job_id', `${field}.job_id`));
          await coordinator.setFlowStatus(job.id, storableValue(object(event.status, `${field}.status`), `${field}.status`));
          break;
        }
        default:
          throw new HttpError(400, 'BAD_REQUEST', `${field}.type: expected started, logs, complete, release or flow_status, got ${JSON.stringify(event.type)}`);
      }
    }
    return { status: 204, text: '' };
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
      coordinator.hub.on<JobRecord>(`finished:${id}`, (job) => {
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
