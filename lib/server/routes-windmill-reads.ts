import { setImmediate as nextTurn } from 'node:timers/promises';
import { logText, plain } from '../http/windmill.js';
import { isFinished } from '../types.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { listingQuery, type Listing } from './listing-filters.js';
import { drained } from './log-stream.js';
import { parseCancelJob } from './parse-jobs.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { queryBool } from './validate.js';
import { completedJob, completedListing, queuedListing } from './windmill-listings.js';

// windmill-client's JobService reads beyond those of routes-windmill.ts: a job's log, args,
// finished record and root, the two listings, and force_cancel, each answering as Windmill's
// server does (docs/windmill.md). A job of another workspace is unknown here, as everywhere.

/** The first line of Windmill's `get_logs` answer, unless `remove_ansi_warnings=true`; kept so parsers written for Windmill skip the same line. */
const ANSI_HINT = "to remove ansi colors, use: | sed 's/\\x1B\\[[0-9;]\\{1,\\}[A-Za-z]//g'\n";

/**
 * The job's whole log as plain text (its lines and its descendants', marked as in `jobs_u/get`).
 * Written page by page as the socket takes it, so a long log never sits whole in memory.
 */
async function getJobLogs(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const withHint = queryBool(ctx.query, 'remove_ansi_warnings') !== true;
  const { res, signal } = ctx;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
  if (withHint) res.write(ANSI_HINT);
  for await (const page of deps.coordinator.followLogPages(job.id, { after: 0, follow: false, signal })) {
    if (!res.write(logText(page))) await drained(res);
    if (signal.aborted || res.destroyed) break;
    await nextTurn();
  }
  res.end();
  return undefined;
}

/** The job's args as the caller gave them (JSON; values millrace encodes, such as a Date, in their JSON form). */
async function getJobArgs(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  return { status: 200, json: plain(job.args) };
}

/** Windmill answers 404 for a job that has not completed: it is not in its table of completed jobs. */
async function getCompletedJob(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  if (!isFinished(job))
    throw new HttpError(
      404,
      'NOT_COMPLETED',
      `Job ${job.id} has not completed yet (it is ${job.status}): read it with jobs_u/get, or wait for it with jobs_u/getupdate`,
    );
  const { store } = deps;
  const [lines, children, flowStatus] = await Promise.all([
    store.readLogs(job.id),
    store.list({ parentJob: job.id, limit: 10_000, order: 'oldest' }),
    job.kind === 'flow' ? store.getFlowStatus(job.id) : undefined,
  ]);
  return {
    status: 200,
    json: { ...completedJob(job, lines, children), ...(flowStatus !== undefined && { flow_status: flowStatus }) },
  };
}

/** The id of the run's root job, as a JSON string (Windmill's answer); a root answers its own id. */
async function getRootJobId(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  return { status: 200, json: job.rootJob };
}

async function listQueue(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return list(ctx, deps, 'queue');
}

async function listCompletedJobs(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return list(ctx, deps, 'completed');
}

async function list(ctx: RouteContext, deps: ServerDeps, listing: Listing): Promise<Reply> {
  const { filter, includeArgs, none } = listingQuery(listing, ctx.query, ctx.params.ws);
  const jobs = none ? [] : await deps.store.list(filter);
  const row = listing === 'queue' ? queuedListing : completedListing;
  return { status: 200, json: jobs.map((job) => row(job, { includeArgs })) };
}

/**
 * Cancels a queued or running job and its unfinished descendants at once, as Windmill's
 * force_cancel does: millrace records every cancel in the store at once (the worker stops the
 * code after), so it is the same cancel as `queue/cancel`. Answers the id as text; a job that
 * has already finished answers 200 with Windmill's sentence, not an error.
 */
async function forceCancelQueuedJob(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const body = parseCancelJob(await ctx.body());
  const alreadyCompleted = { status: 200, text: `queued job id ${job.id} is already completed` };
  if (isFinished(job)) return alreadyCompleted;
  const canceled = await deps.coordinator.cancel(job.id, {
    reason: body.reason ?? 'force canceled',
    by: ctx.principal.label,
  });
  // It finished between the read and the cancel: the first word stands.
  if (!canceled.some((c) => c.id === job.id)) return alreadyCompleted;
  return { status: 200, text: job.id };
}

/** windmill-client's JobService reads (docs/http-api.md, "Windmill-compatible routes"). */
export const windmillReadRoutes: readonly RouteEntry[] = [
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/get_logs/{id}', audience: 'user', handler: getJobLogs },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/get_args/{id}', audience: 'user', handler: getJobArgs },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/completed/get/{id}', audience: 'user', handler: getCompletedJob },
  // Worker tokens too: windmill-client asks it from inside a job.
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/get_root_job_id/{id}', audience: 'worker', handler: getRootJobId },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/queue/list', audience: 'user', handler: listQueue },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/completed/list', audience: 'user', handler: listCompletedJobs },
  {
    method: 'POST',
    pattern: '/api/w/{ws}/jobs_u/queue/force_cancel/{id}',
    audience: 'user',
    handler: forceCancelQueuedJob,
  },
];
