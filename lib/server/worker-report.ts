import { checkProgress } from '../progress.js';
import { MillraceError } from '../errors.js';
import type { ReportEvent, ReportReply } from '../http/wire.js';
import { cutLogLine } from '../limits.js';
import type { HeldLease } from '../store/store.js';
import type { Json, LogStream, NewLogLine, Outcome } from '../types.js';
import { HttpError, toHttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { leaseNotHeld, whyNotHeld } from './lease.js';
import type { RouteContext } from './router.js';
import type { ServerDeps } from './server.js';
import { array, errorRecord, numberIn, object, storableValue, string, time } from './validate.js';

/**
 * `worker/report`: what a worker tells of the jobs it runs (starts, log lines, ends, releases,
 * flow status), in order. Each event stands on its own: one the server refuses (malformed, a
 * job that is not there, or one whose current lease the worker does not hold) is listed in the
 * answer and loses no other job's. Every event must be about a job whose lease the worker holds
 * (`worker_id` and the event's `attempt`, as its claim recorded them), and nothing may follow a
 * job's end in a report: a job it does not hold gets none of its events written from there on.
 *
 * A job's starts and ends carry that check in their own writes (Store's HeldLease), so a short
 * job's report (its end, with its start) costs one statement and no read; the job is read only
 * when a write finds it not held, to say why. A job with other events (log lines, a release,
 * flow status, progress) is read first and checked before any of its events is written.
 * Anything else that fails (the store is down) fails the request, and the worker sends it again.
 *
 * One job's events are written in their order; different jobs' are written side by side, so
 * that the starts and ends of a report's jobs share the store's statements of a tick
 * (tick-statement.ts): a report of ten ends is one durable commit, not ten in a row. The jobs
 * read first are read the same way, side by side.
 */
export async function applyReport(deps: ServerDeps, ctx: RouteContext): Promise<ReportReply> {
  const body = object(await ctx.body());
  const workerId = string(body, 'worker_id');
  const raw = array(body, 'events');
  const reply: ReportReply = { rejected: [] };
  const refuse = (index: number, err: unknown, jobId?: string) => {
    const { status, code, message } = toHttpError(err);
    reply.rejected.push({ index, status, code, message, ...(jobId !== undefined && { job_id: jobId }) });
  };

  // Each event checked, then each job's events in their order.
  const byJob = new Map<string, number[]>();
  const events = raw.map((item, i): ReportEvent | undefined => {
    try {
      const e = parseEvent(item, `body.events[${i}]`);
      const indices = byJob.get(e.job_id);
      if (indices) indices.push(i);
      else byJob.set(e.job_id, [i]);
      return e;
    } catch (err) {
      if (!ownFault(err)) throw err;
      refuse(i, err);
      return undefined;
    }
  });

  // The jobs whose events are not all starts and ends: read, all at once, and checked before writing.
  const readFirst = [...byJob].filter(([, indices]) => !indices.every((i) => carriesLease(events[i]!)));
  const settled = await Promise.allSettled(readFirst.map(([id]) => jobInWorkspace(deps, ctx, id)));
  const read = new Map(readFirst.map(([id], i) => [id, settled[i]]));

  // Each job's events in order, the jobs side by side; a refused event refuses the rest of its job's.
  const written = await Promise.allSettled(
    [...byJob].map(async ([id, indices]) => {
      const refuseFrom = (from: number, err: unknown, named = true) =>
        indices.slice(from).forEach((i) => refuse(i, err, named ? id : undefined));
      const notHeld = (why: string) => leaseNotHeld(`The report of worker ${workerId}`, [{ jobId: id, why }]);
      const job = read.get(id);
      if (job?.status === 'rejected') return refuseFrom(0, job.reason, false);
      // A report that goes on after a job's end, or a job read and not held: none of its events.
      const end = indices.findIndex((i) => ['finish', 'release'].includes(events[i]!.type));
      const why =
        end >= 0 && end < indices.length - 1
          ? `job ${id} has an event after its end in this report`
          : job && indices.map((i) => whyNotHeld(job.value, { workerId, attempt: events[i]!.attempt })).find(Boolean);
      if (why) return refuseFrom(0, notHeld(why));
      for (const [n, i] of indices.entries()) {
        const e = events[i]!;
        const held = { workerId, attempt: e.attempt, workspace: ctx.params.ws };
        try {
          const why = (await write(deps, e, held)) ? undefined : await whyRefused(deps, ctx, e, held);
          if (why) return refuseFrom(n, notHeld(why));
        } catch (err) {
          if (!ownFault(err)) throw err;
          if (err instanceof HttpError && err.code === 'UNKNOWN_JOB') return refuseFrom(n, err, false);
          refuse(i, err, id);
        }
      }
    }),
  );
  // A store that failed fails the request (after every other job's writes have settled).
  for (const w of written) if (w.status === 'rejected') throw w.reason;
  reply.rejected.sort((a, b) => a.index - b.index);
  return reply;
}

/** Starts and ends check the lease in their own writes; other events are checked on a read first. */
function carriesLease(e: ReportEvent): boolean {
  return e.type === 'started' || e.type === 'finish';
}

/**
 * Writes one event. Returns false when a start or an end found its job not held by `held`
 * (it wrote nothing); other events were checked before.
 */
async function write({ coordinator }: ServerDeps, e: ReportEvent, held: HeldLease): Promise<boolean> {
  switch (e.type) {
    case 'started':
      return coordinator.started(e.job_id, e.at, held);
    case 'logs':
      await coordinator.appendLogs(e.job_id, e.lines);
      return true;
    case 'finish':
      return coordinator.finish(e.job_id, e.outcome, e.at, e.started_at, held);
    case 'release':
      await coordinator.release(e.job_id, e.error, e.at);
      return true;
    case 'flow_status':
      await coordinator.setFlowStatus(e.job_id, e.status);
      return true;
    case 'progress':
      await coordinator.setProgress(e.job_id, { percent: e.percent, message: e.message });
      return true;
  }
}

/**
 * Why a start or an end wrote nothing: the job as it is now, not held by the worker (or not in
 * the workspace: UNKNOWN_JOB). Undefined if it is held now, which cannot follow a write that
 * found it not held (an attempt, once lost, is never held again), and then nothing is refused.
 */
async function whyRefused(
  deps: ServerDeps,
  ctx: RouteContext,
  e: ReportEvent,
  held: HeldLease,
): Promise<string | undefined> {
  const job = await jobInWorkspace(deps, ctx, e.job_id);
  return whyNotHeld(job, { workerId: held.workerId, attempt: held.attempt });
}

/** What is wrong with one event is its own; anything else (the store is down) fails the request. */
function ownFault(err: unknown): boolean {
  return err instanceof HttpError || err instanceof MillraceError;
}

function parseEvent(item: unknown, field: string): ReportEvent {
  const event = object(item, field);
  const jobId = string(event, 'job_id', `${field}.job_id`);
  const attempt = numberIn(event, 'attempt', { min: 0, max: 2 ** 31, integer: true }, `${field}.attempt`);
  const base = { job_id: jobId, attempt };
  switch (event.type) {
    case 'started':
      return { ...base, type: 'started', at: time(event, 'at', `${field}.at`) };
    case 'logs': {
      const lines = array(event, 'lines', `${field}.lines`).map((raw, i): NewLogLine => {
        const l = object(raw, `${field}.lines[${i}]`);
        const stream: LogStream = l.stream === 'stderr' ? 'stderr' : 'stdout';
        return {
          ts: time(l, 'ts', `${field}.lines[${i}].ts`),
          stream,
          line: cutLogLine(typeof l.line === 'string' ? l.line : String(l.line)),
        };
      });
      return { ...base, type: 'logs', lines };
    }
    case 'finish': {
      const outcome = object(event.outcome, `${field}.outcome`) as unknown as Outcome;
      if (!['success', 'failure', 'canceled'].includes(outcome.status)) {
        throw new HttpError(
          400,
          'BAD_REQUEST',
          `${field}.outcome.status: expected success, failure or canceled, got ${JSON.stringify(outcome.status)}`,
        );
      }
      if (outcome.status === 'success') storableValue(outcome.result ?? null, `${field}.outcome.result`);
      else errorRecord(outcome.error, `${field}.outcome.error`);
      const startedAt =
        event.started_at === undefined ? {} : { started_at: time(event, 'started_at', `${field}.started_at`) };
      return { ...base, type: 'finish', outcome, at: time(event, 'at', `${field}.at`), ...startedAt };
    }
    case 'release':
      return {
        ...base,
        type: 'release',
        error: errorRecord(event.error, `${field}.error`),
        at: time(event, 'at', `${field}.at`),
      };
    case 'flow_status':
      return {
        ...base,
        type: 'flow_status',
        status: storableValue(object(event.status, `${field}.status`), `${field}.status`) as Json,
      };
    case 'progress': {
      const progress = checkProgress(event.percent, event.message);
      return { ...base, type: 'progress', ...progress };
    }
    default:
      throw new HttpError(
        400,
        'BAD_REQUEST',
        `${field}.type: expected started, logs, finish, release, flow_status or progress, got ${JSON.stringify(event.type)}`,
      );
  }
}
