import type { ChildReply, ClaimReply, HeartbeatReply, JobReply, StepReply, WaitReply } from '../http/wire.js';
import { resolveScript } from '../loader/paths.js';
import { FINISHED_STATUSES, type JobRecord } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { assertHeld } from './lease.js';
import { longPollSignal } from './long-poll.js';
import {
  parseCancel,
  parseChild,
  parseClaim,
  parseHeartbeat,
  parseJob,
  parseParentRef,
  parseStep,
  parseStepLease,
  parseStepScript,
  parseWait,
  parseWorkerName,
} from './parse-worker.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { applyReport } from './worker-report.js';

/** How long a wait for several jobs gathers more after the first one finished. */
const LINGER_MS = 20;

/** Claims by long poll: the jobs due for the worker's tags, held open until one is. */
async function claim(ctx: RouteContext, { sightings, coordinator }: ServerDeps): Promise<Reply> {
  const raw = await ctx.body();
  const worker = parseWorkerName(raw);
  await sightings.seen(
    { id: worker.worker_id, workspace: ctx.params.ws, tags: worker.tags, hostname: worker.hostname },
    Date.now(),
  );
  const body = parseClaim(raw);
  const signal = longPollSignal(ctx.signal, body.wait_ms);
  const jobs = await coordinator.claim(
    {
      workerId: body.worker_id,
      tags: body.tags,
      workspace: ctx.params.ws,
      limit: body.limit,
      leaseMs: body.lease_ms,
      durable: true,
    },
    signal,
  );
  const reply: ClaimReply = { jobs };
  return { status: 200, json: reply };
}

/** Durable steps: the recorded child at a call key (a step's recorded result). */
async function child(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const raw = await ctx.body();
  const parent = await jobInWorkspace(deps, ctx, parseParentRef(raw).parent_job);
  const body = parseChild(raw);
  const reply: ChildReply = { job: (await deps.coordinator.findChild(parent.id, body.call_key)) ?? null };
  return { status: 200, json: reply };
}

/** Records a step's outcome once, by the worker that holds its parent's lease. */
async function step(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const raw = await ctx.body();
  const parent = await jobInWorkspace(deps, ctx, parseParentRef(raw).parent_job);
  const lease = parseStepLease(raw);
  assertHeld('The step', parent, { workerId: lease.worker_id, attempt: lease.parent_attempt });
  // The script is resolved before the fields after it are checked, as it always was.
  const script = resolveScript(deps.root, parseStepScript(raw));
  const body = parseStep(raw);
  const job = await deps.coordinator.recordStep(
    {
      kind: 'step',
      scriptPath: script.path,
      scriptHash: body.script_hash,
      entrypoint: body.name,
      args: [],
      tag: parent.tag,
      workspace: parent.workspace,
      parentJob: parent.id,
      callKey: body.call_key,
    },
    body.outcome,
    body.started_at,
    body.at,
  );
  const reply: StepReply = { job };
  return { status: 200, json: reply };
}

/** Many reports in one request, applied in order, each on its own (see applyReport): a busy worker sends one per tick. */
async function report(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return { status: 200, json: await applyReport(deps, ctx) };
}

/** getJobStatus / getResult called by a job on a remote worker. */
async function job(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const body = parseJob(await ctx.body());
  const found = await store.get(body.job_id);
  const reply: JobReply = { job: found && found.workspace === ctx.params.ws ? found : null };
  return { status: 200, json: reply };
}

/** cancelJob called by a job on a remote worker. */
async function cancel(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const raw = await ctx.body();
  const target = await jobInWorkspace(deps, ctx, parseJob(raw).job_id);
  // The reason is read only for a job still to cancel: a finished one answers 204 whatever it says.
  if (!FINISHED_STATUSES.includes(target.status))
    await deps.coordinator.cancel(target.id, { reason: parseCancel(raw).reason ?? 'canceled', by: 'job' });
  return { status: 204, text: '' };
}

/** Renews the leases of the jobs a worker runs; answers with those no longer its own. */
async function heartbeat(ctx: RouteContext, { sightings, coordinator }: ServerDeps): Promise<Reply> {
  const raw = await ctx.body();
  const worker = parseWorkerName(raw);
  await sightings.seen(
    { id: worker.worker_id, workspace: ctx.params.ws, tags: worker.tags, hostname: worker.hostname },
    Date.now(),
  );
  const body = parseHeartbeat(raw);
  const reply: HeartbeatReply = { lost: await coordinator.renewLeases(body.worker_id, body.job_ids, body.lease_ms) };
  return { status: 200, json: reply };
}

/** Which of `ids` name no job in the workspace (one read, none for no ids). */
async function missingIds(store: ServerDeps['store'], workspace: string, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const found = new Set((await store.list({ ids, workspace, limit: ids.length })).map((j) => j.id));
  return ids.filter((id) => !found.has(id));
}

/**
 * Resolves when all the jobs have finished, or a short while after the first of them did
 * (LINGER_MS), with every one finished by then: one request waits for a whole fan-out, and
 * a fan-out of 1,000 costs a few dozen answers rather than 1,000.
 */
async function wait(ctx: RouteContext, { store, coordinator }: ServerDeps): Promise<Reply> {
  const { ids, wait_ms } = parseWait(await ctx.body());
  const signal = longPollSignal(ctx.signal, wait_ms);
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
    // The jobs this server created and has not heard end need no read: their ends are still to come.
    const look = ids.filter((id) => !coordinator.unfinished.has(id, ctx.params.ws));
    const done =
      look.length === 0
        ? []
        : await store.list({ ids: look, status: [...FINISHED_STATUSES], workspace: ctx.params.ws, limit: look.length });
    for (const job of done) finished.set(job.id, job);
    // An id that names no job is answered at once: a wait for one job (a client waiting on
    // its run) with a 404, a batch with the ids missing, so that no wait on it lasts forever.
    const missing = await missingIds(
      store,
      ctx.params.ws,
      look.filter((id) => !finished.has(id)),
    );
    if (ids.length === 1 && missing.length === 1)
      throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${ids[0]}" in workspace ${ctx.params.ws}`);
    if (finished.size === 0 && missing.length === 0 && !signal.aborted) await some;
    const reply: WaitReply = { finished: [...finished.values()], ...(missing.length > 0 && { missing }) };
    return { status: 200, json: reply };
  } finally {
    clearTimeout(linger);
    for (const off of offs) off();
    signal.removeEventListener('abort', onAbort);
  }
}

/** millrace's worker routes: claim by long poll, report starts, logs and ends (worker-report.ts), heartbeat, wait on children. */
export const workerRoutes: readonly RouteEntry[] = [
  { method: 'POST', pattern: '/api/w/{ws}/worker/claim', audience: 'worker', handler: claim },
  { method: 'POST', pattern: '/api/w/{ws}/worker/child', audience: 'worker', handler: child },
  { method: 'POST', pattern: '/api/w/{ws}/worker/step', audience: 'worker', handler: step },
  { method: 'POST', pattern: '/api/w/{ws}/worker/report', audience: 'worker', handler: report },
  { method: 'POST', pattern: '/api/w/{ws}/worker/job', audience: 'worker', handler: job },
  { method: 'POST', pattern: '/api/w/{ws}/worker/cancel', audience: 'worker', handler: cancel },
  { method: 'POST', pattern: '/api/w/{ws}/worker/heartbeat', audience: 'worker', handler: heartbeat },
  { method: 'POST', pattern: '/api/w/{ws}/worker/wait', audience: 'worker', handler: wait },
];
