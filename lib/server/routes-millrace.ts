import { readFileSync } from 'node:fs';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import { pathSignature } from '../flow/submission.js';
import type { CancelJobReply, ResolveReply, TreeReply, WorkersReply } from '../http/wire.js';
import { JOB_STATUSES, type JobStatus, type QueueSummary } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { listRunnables } from './script-list.js';
import { streamLog } from './log-stream.js';
import { parseCancelJob } from './parse-jobs.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { MAX_CURSOR, MAX_PAGE, MAX_TIME_MS } from './limits.js';
import { queryBool, queryNumber } from './validate.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** How long a worker counts as live after it was last heard from. */
export const WORKER_LIVE_MS = 30_000;

async function version(): Promise<Reply> {
  return { status: 200, text: `millrace ${VERSION}` };
}

async function record(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return { status: 200, json: await jobInWorkspace(deps, ctx) };
}

/** A job with its attempts, its descendants and (a flow job) its flow status: what `show` and the UI's run page draw. */
async function tree(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const { store } = deps;
  const job = await jobInWorkspace(deps, ctx);
  const [attempts, descendants, flowStatus] = await Promise.all([
    store.attempts(job.id),
    store.descendants(job.id),
    job.kind === 'flow' ? store.getFlowStatus(job.id) : undefined,
  ]);
  const progress = await store.listProgress([job.id, ...descendants.map((d) => d.id)]);
  const reply: TreeReply = {
    job,
    attempts,
    descendants,
    ...(flowStatus !== undefined && { flow_status: flowStatus }),
    ...(progress.size > 0 && { progress: Object.fromEntries(progress) }),
  };
  return { status: 200, json: reply };
}

/** The one job of the workspace whose id starts with the prefix (ids typed short). */
async function resolve(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const ids = (await store.matchIds(ctx.params.prefix, 20)).filter(Boolean);
  const inWs = [];
  for (const id of ids) if ((await store.get(id))?.workspace === ctx.params.ws) inWs.push(id);
  if (inWs.length === 0) throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${ctx.params.prefix}"`);
  if (inWs.length > 1)
    throw new HttpError(
      409,
      'AMBIGUOUS_ID',
      `Job id "${ctx.params.prefix}" is ambiguous: it starts ${inWs.slice(0, 3).join(', ')}…`,
    );
  const reply: ResolveReply = { id: inWs[0] };
  return { status: 200, json: reply };
}

async function records(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const q = ctx.query;
  const status = q.getAll('status').map((s) => {
    if (!(JOB_STATUSES as readonly string[]).includes(s))
      throw new HttpError(
        400,
        'BAD_REQUEST',
        `query status: expected one of ${JOB_STATUSES.join(', ')}, got ${JSON.stringify(s)}`,
      );
    return s as JobStatus;
  });
  const jobs = await store.list({
    workspace: ctx.params.ws,
    status: status.length ? status : undefined,
    tag: q.get('tag') ?? undefined,
    scriptPath: q.get('script_path') ?? undefined,
    parentJob: q.get('parent_job') ?? undefined,
    rootJob: q.get('root_job') ?? undefined,
    rootsOnly: queryBool(q, 'roots_only'),
    before: queryNumber(q, 'before', { min: 0, max: MAX_TIME_MS, integer: true }),
    limit: queryNumber(q, 'limit', { min: 1, max: MAX_PAGE, integer: true }) ?? 50,
  });
  return { status: 200, json: jobs };
}

/** A job's log as NDJSON: every line so far and, with follow=true, each new one until the job ends. */
async function logs(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const after = queryNumber(ctx.query, 'after', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
  // Read before the head is written: a bad value must still get its 400, not a cut-off stream.
  const follow = queryBool(ctx.query, 'follow') ?? false;
  // The same events as server-sent events when asked for (the web UI's live log).
  const sse = (ctx.req.headers.accept ?? '').includes('text/event-stream');
  await streamLog(ctx.res, deps.coordinator, { jobId: job.id, after, follow, sse, signal: ctx.signal });
  return undefined;
}

async function cancel(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const body = parseCancelJob(await ctx.body());
  const reply: CancelJobReply = {
    canceled: await deps.coordinator.cancel(job.id, { reason: body.reason ?? 'canceled', by: ctx.principal.label }),
  };
  return { status: 200, json: reply };
}

/** A script's main's signature, as a JSON schema; a flow file's signature is its schema's. */
async function signature(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const json = pathSignature(deps.root, ctx.params.path, (path) => {
    const script = resolveScript(deps.root, path);
    return { path: script.path, hash: script.hash, signature: inferSignatureOfFile(script.file, script.hash) };
  });
  return { status: 200, json };
}

/** What the run form offers: the scripts under the root that export a main. */
async function scripts(_ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return { status: 200, json: await listRunnables(deps.root) };
}

async function workers(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const reply: WorkersReply = { workers: await store.listWorkers(ctx.params.ws, Date.now() - WORKER_LIVE_MS) };
  return { status: 200, json: reply };
}

/** What waits and runs in the workspace, per tag and per flow-control key. */
async function queue(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  const reply: QueueSummary = await store.queue(ctx.params.ws);
  return { status: 200, json: reply };
}

/** millrace's own routes: what the HTTP engine needs beyond Windmill's shapes. */
export const millraceRoutes: readonly RouteEntry[] = [
  { method: 'GET', pattern: '/api/version', audience: 'worker', handler: version },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/record/{id}', audience: 'user', handler: record },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/tree/{id}', audience: 'user', handler: tree },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/resolve/{prefix}', audience: 'user', handler: resolve },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/records', audience: 'user', handler: records },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/logs/{id}', audience: 'user', handler: logs },
  { method: 'POST', pattern: '/api/w/{ws}/jobs_u/cancel/{id}', audience: 'user', handler: cancel },
  { method: 'GET', pattern: '/api/w/{ws}/scripts/signature/{path*}', audience: 'user', handler: signature },
  { method: 'GET', pattern: '/api/w/{ws}/scripts/list', audience: 'user', handler: scripts },
  { method: 'GET', pattern: '/api/w/{ws}/workers', audience: 'user', handler: workers },
  { method: 'GET', pattern: '/api/w/{ws}/queue', audience: 'user', handler: queue },
];
