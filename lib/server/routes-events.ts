import type { ApprovalInfoReply, SendEventReply, WaitingReply } from '../http/wire.js';
import { checkResumeSignature } from '../engine/resume-urls.js';
import { MillraceError } from '../errors.js';
import { ApprovalStateError, JobFinishedError } from '../errors-operations.js';
import { FINISHED_STATUSES, NEVER_DUE, type JobRecord, type Json } from '../types.js';
import { approvalEventName, approvalKeyOf, checkEventName, checkResumeKey } from '../wait-names.js';
import { checkApprovalValue } from './approval-form.js';
import { HttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { storableValue } from './validate.js';

/**
 * Events and approvals over HTTP: sending an event to a job, and Windmill's resume and cancel
 * URLs of approvals, which carry their own permission (an HMAC signature, see
 * engine/resume-urls.ts) and so need no token.
 */

/** `POST jobs/{id}/events/{name}`: the JSON body is the payload (none: null). */
async function sendEvent(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const name = asBadRequest(() => checkEventName(ctx.params.name, 'The event name in the path'));
  const body = await ctx.body();
  const payload = storableValue(body === undefined ? null : body, 'body');
  const job = await jobInWorkspace(deps, ctx);
  const sent = await deps.coordinator.sendEvent(job.id, name, payload);
  const reply: SendEventReply = { status: sent.status, wait_job: sent.waitJob };
  return { status: 200, json: reply };
}

/** `GET jobs/resume_urls/{id}/{resume_id}`: Windmill's route; a job's getResumeUrls on a remote worker asks it. */
async function resumeUrls(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const key = asBadRequest(() => checkResumeKey(ctx.params.resume_id, 'The resume id in the path'));
  const job = await jobInWorkspace(deps, ctx);
  const urls = await deps.coordinator.resumeUrls(job.id, key);
  // Windmill's `?approver=`: the URLs carry it, and the approval records it.
  const approver = ctx.query.get('approver');
  if (approver === null) return { status: 200, json: urls };
  const q = `?approver=${encodeURIComponent(approver)}`;
  return { status: 200, json: { ...urls, resume: `${urls.resume}${q}`, cancel: `${urls.cancel}${q}` } };
}

/** `GET|POST jobs_u/resume/{id}/{resume_id}/{signature}`: approves, with `?payload=` (GET) or the body (POST) as the value. */
async function resume(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return answer(ctx, deps, true);
}

/** `GET|POST jobs_u/cancel/{id}/{resume_id}/{signature}`: rejects. */
async function cancel(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return answer(ctx, deps, false);
}

async function answer(ctx: RouteContext, deps: ServerDeps, approved: boolean): Promise<Reply> {
  const { job, key, wait, used } = await signedApproval(ctx, deps);
  if (FINISHED_STATUSES.includes(job.status)) throw new JobFinishedError(job.id, job.status, `approval "${key}"`);
  if (used)
    throw new ApprovalStateError(
      `This URL of approval "${key}" of job ${job.id} was used already: an approval is answered once`,
    );
  if (!wait) {
    throw new ApprovalStateError(
      `Job ${job.id} is not waiting for approval "${key}" yet: send the answer once it calls waitForApproval({ key: "${key}" })`,
    );
  }
  const value = await approvalValue(ctx);
  const form = formOf(wait);
  if (approved && form !== null) checkApprovalValue(form, value);
  const approver = ctx.query.get('approver');
  await deps.coordinator.sendEvent(job.id, approvalEventName(key), { approved, value, approver }, `approval "${key}"`);
  return { status: 200, json: { job_id: job.id, resume_id: key, approved } };
}

/** `GET jobs_u/approval/{id}/{resume_id}/{signature}`: what the approval page shows. */
async function approvalInfo(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const { job, key, wait, used } = await signedApproval(ctx, deps);
  const reply: ApprovalInfoReply = {
    job,
    resume_id: key,
    form: wait ? formOf(wait) : null,
    waiting: wait !== undefined,
    used,
  };
  return { status: 200, json: reply };
}

/** `GET jobs/waiting`: the workspace's jobs waiting for an event or an approval now. */
async function waiting(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const queued = await deps.store.list({ workspace: ctx.params.ws, status: ['queued'], limit: 500 });
  const waits = queued.filter((j) => j.kind === 'wait' && j.parentJob !== null);
  const parents = waits.length
    ? await deps.store.list({ ids: waits.map((w) => w.parentJob!), limit: waits.length })
    : [];
  const byId = new Map(parents.map((p) => [p.id, p]));
  const reply: WaitingReply = { waiting: [] };
  for (const wait of waits) {
    const job = byId.get(wait.parentJob!);
    if (!job) continue;
    reply.waiting.push({
      job,
      wait,
      event: wait.entrypoint,
      approval: approvalKeyOf(wait.entrypoint) ?? null,
      due_at: wait.scheduledFor >= NEVER_DUE ? null : wait.scheduledFor,
    });
  }
  return { status: 200, json: reply };
}

/** The job, key and state of a signed approval URL; 401 for a bad signature, before anything is read. */
async function signedApproval(
  ctx: RouteContext,
  deps: ServerDeps,
): Promise<{ job: JobRecord; key: string; wait: JobRecord | undefined; used: boolean }> {
  const { ws, id, resume_id: key, signature } = ctx.params;
  await checkResumeSignature(deps.store, ws, id, key, signature);
  const job = await jobInWorkspace(deps, ctx);
  const name = approvalEventName(key);
  const [events, children] = await Promise.all([
    deps.store.events(job.id),
    deps.store.list({ parentJob: job.id, status: ['queued'], limit: 1000 }),
  ]);
  const wait = children.find((c) => c.kind === 'wait' && c.entrypoint === name);
  return { job, key, wait, used: events.some((e) => e.name === name) };
}

/** The approval's value: `?payload=` (URL-encoded JSON) on a GET, the JSON body on a POST; none is null. */
async function approvalValue(ctx: RouteContext): Promise<Json> {
  if (ctx.req.method === 'GET') {
    const text = ctx.query.get('payload');
    if (text === null) return null;
    try {
      return storableValue(JSON.parse(text), 'query payload');
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(
        400,
        'BAD_JSON',
        `query payload: expected URL-encoded JSON, got ${JSON.stringify(text.slice(0, 80))} (${(err as Error).message})`,
      );
    }
  }
  const body = await ctx.body();
  return storableValue(body === undefined ? null : body, 'body');
}

function formOf(wait: JobRecord): Json | null {
  const first = Array.isArray(wait.args) ? wait.args[0] : null;
  return first !== null && typeof first === 'object' && !Array.isArray(first) ? (first.form ?? null) : null;
}

function asBadRequest<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof MillraceError) throw new HttpError(400, 'BAD_REQUEST', err.message);
    throw err;
  }
}

const SIGNED = '{id}/{resume_id}/{signature}';

export const eventRoutes: readonly RouteEntry[] = [
  { method: 'POST', pattern: '/api/w/{ws}/jobs/{id}/events/{name}', audience: 'worker', handler: sendEvent },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/resume_urls/{id}/{resume_id}', audience: 'worker', handler: resumeUrls },
  // windmill-client's getApprovalUrls(stepKey): the same URLs, of the approval keyed by the step (docs/windmill.md).
  {
    method: 'GET',
    pattern: '/api/w/{ws}/jobs/wac_approval_urls/{id}/{resume_id}',
    audience: 'worker',
    handler: resumeUrls,
  },
  { method: 'GET', pattern: '/api/w/{ws}/jobs/waiting', audience: 'user', handler: waiting },
  { method: 'GET', pattern: `/api/w/{ws}/jobs_u/resume/${SIGNED}`, audience: 'signed', handler: resume },
  { method: 'POST', pattern: `/api/w/{ws}/jobs_u/resume/${SIGNED}`, audience: 'signed', handler: resume },
  { method: 'GET', pattern: `/api/w/{ws}/jobs_u/cancel/${SIGNED}`, audience: 'signed', handler: cancel },
  { method: 'POST', pattern: `/api/w/{ws}/jobs_u/cancel/${SIGNED}`, audience: 'signed', handler: cancel },
  { method: 'GET', pattern: `/api/w/{ws}/jobs_u/approval/${SIGNED}`, audience: 'signed', handler: approvalInfo },
];
