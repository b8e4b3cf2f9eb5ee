import { checkProgress } from '../progress.js';
import { object } from './validate.js';
import { jobInWorkspace } from './jobs-access.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';

// Job progress (docs/operations.md): Windmill's job_metrics routes, so that windmill-client's
// setProgress / getProgress work, and millrace's own read with the message.

/** Windmill's set_progress: `{percent, flow_job_id?}`, and millrace's `message` beside it. */
async function setProgress(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  const body = object(await ctx.body(), 'body');
  await deps.coordinator.setProgress(job.id, checkProgress(body.percent, body.message));
  return { status: 200, json: 'ok' };
}

/** Windmill's get_progress: the percentage alone, or null when the job reported none. */
async function getProgress(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  return { status: 200, json: (await deps.coordinator.getProgress(job.id))?.percent ?? null };
}

/** The last report whole (percent, message, when), or null: getProgress inside a job on a remote worker. */
async function progressRecord(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  return { status: 200, json: (await deps.coordinator.getProgress(job.id)) ?? null };
}

/** The caller's trace a run joined (traceparent at submission), or null: for workers with tracing on. */
async function runTrace(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const job = await jobInWorkspace(deps, ctx);
  return { status: 200, json: (await deps.store.getRunTrace(job.id)) ?? null };
}

export const progressRoutes: readonly RouteEntry[] = [
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/trace/{id}', audience: 'worker', handler: runTrace },
  { method: 'POST', pattern: '/api/w/{ws}/job_metrics/set_progress/{id}', audience: 'user', handler: setProgress },
  { method: 'GET', pattern: '/api/w/{ws}/job_metrics/get_progress/{id}', audience: 'user', handler: getProgress },
  { method: 'GET', pattern: '/api/w/{ws}/jobs_u/progress/{id}', audience: 'worker', handler: progressRecord },
];
