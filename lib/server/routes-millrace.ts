import { readFileSync } from 'node:fs';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import { pathSignature } from '../flow/submission.js';
import type { TreeReply, WorkersReply } from '../http/wire.js';
import { JOB_STATUSES, type JobStatus } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { listRunnables } from './script-list.js';
import { streamLog } from './log-stream.js';
import type { Router } from './router.js';
import type { ServerDeps } from './server.js';
import { MAX_CURSOR, MAX_PAGE, MAX_TIME_MS } from './limits.js';
import { object, optionalString, queryBool, queryNumber } from './validate.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** How long a worker counts as live after it was last heard from. */
export const WORKER_LIVE_MS = 30_000;

/** millrace's own routes: what the HTTP engine needs beyond Windmill's shapes. */
export function millraceRoutes(router: Router, deps: ServerDeps): void {
  const { store, coordinator } = deps;

  router.add('GET', '/api/version', 'worker', async () => ({ status: 200, text: `millrace ${VERSION}` }));

  router.add('GET', '/api/w/{ws}/jobs_u/record/{id}', 'user', async (ctx) => ({ status: 200, json: await jobInWorkspace(deps, ctx) }));

  router.add('GET', '/api/w/{ws}/jobs_u/tree/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const [attempts, descendants, flowStatus] = await Promise.all([
      store.attempts(job.id),
      store.descendants(job.id),
      job.kind === 'flow' ? store.getFlowStatus(job.id) : undefined,
    ]);
    const reply: TreeReply = { job, attempts, descendants, ...(flowStatus !== undefined && { flow_status: flowStatus }) };
    return { status: 200, json: reply };
  });

  router.add('GET', '/api/w/{ws}/jobs_u/resolve/{prefix}', 'user', async (ctx) => {
    const ids = (await store.matchIds(ctx.params.prefix, 20)).filter(Boolean);
    const inWs = [];
    for (const id of ids) if ((await store.get(id))?.workspace === ctx.params.ws) inWs.push(id);
    if (inWs.length === 0) throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${ctx.params.prefix}"`);
    if (inWs.length > 1) throw new HttpError(409, 'AMBIGUOUS_ID', `Job id "${ctx.params.prefix}" is ambiguous: it starts ${inWs.slice(0, 3).join(', ')}…`);
    return { status: 200, json: { id: inWs[0] } };
  });

  router.add('GET', '/api/w/{ws}/jobs/records', 'user', async (ctx) => {
    const q = ctx.query;
    const status = q.getAll('status').map((s) => {
      if (!(JOB_STATUSES as readonly string[]).includes(s)) throw new HttpError(400, 'BAD_REQUEST', `query status: expected one of ${JOB_STATUSES.join(', ')}, got ${JSON.stringify(s)}`);
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
  });

  // A job's log as NDJSON: every line so far and, with follow=true, each new one until the job ends.
  router.add('GET', '/api/w/{ws}/jobs_u/logs/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const after = queryNumber(ctx.query, 'after', { min: 0, max: MAX_CURSOR, integer: true }) ?? 0;
    // Read before the head is written: a bad value must still get its 400, not a cut-off stream.
    const follow = queryBool(ctx.query, 'follow') ?? false;
    // The same events as server-sent events when asked for (the web UI's live log).
    const sse = (ctx.req.headers.accept ?? '').includes('text/event-stream');
    await streamLog(ctx.res, coordinator, { jobId: job.id, after, follow, sse, signal: ctx.signal });
    return undefined;
  });

  router.add('POST', '/api/w/{ws}/jobs_u/cancel/{id}', 'user', async (ctx) => {
    const job = await jobInWorkspace(deps, ctx);
    const body = object((await ctx.body()) ?? {});
    const canceled = await coordinator.cancel(job.id, { reason: optionalString(body, 'reason') ?? 'canceled', by: ctx.principal.label });
    return { status: 200, json: { canceled } };
  });

  router.add('GET', '/api/w/{ws}/scripts/signature/{path*}', 'user', async (ctx) => {
    // A flow file's signature is its schema's.
    const json = pathSignature(deps.root, ctx.params.path, (path) => {
      const script = resolveScript(deps.root, path);
      return { path: script.path, hash: script.hash, signature: inferSignatureOfFile(script.file, script.hash) };
    });
    return { status: 200, json };
  });

  // What the run form offers: the scripts under the root that export a main.
  router.add('GET', '/api/w/{ws}/scripts/list', 'user', async () => ({ status: 200, json: await listRunnables(deps.root) }));

  router.add('GET', '/api/w/{ws}/workers', 'user', async (ctx) => {
    const reply: WorkersReply = { workers: await store.listWorkers(ctx.params.ws, Date.now() - WORKER_LIVE_MS) };
    return { status: 200, json: reply };
  });
}
