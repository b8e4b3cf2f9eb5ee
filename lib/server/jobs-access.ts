import type { JobRecord } from '../types.js';
import { HttpError } from './http-error.js';
import type { RouteContext } from './router.js';
import type { ServerDeps } from './server.js';

/** The job `id` of the route's workspace; another workspace's job is as unknown as a missing one. */
export async function jobInWorkspace(deps: ServerDeps, ctx: RouteContext, id = ctx.params.id): Promise<JobRecord> {
  const job = await deps.store.get(id);
  if (!job || job.workspace !== ctx.params.ws)
    throw new HttpError(404, 'UNKNOWN_JOB', `No job with id "${id}" in workspace ${ctx.params.ws}`);
  return job;
}
