import { checkProgress } from '../progress.js';
import { MillraceError } from '../errors.js';
import type { ReportEvent, ReportReply } from '../http/wire.js';
import { cutLogLine } from '../limits.js';
import type { JobRecord, Json, LogStream, NewLogLine, Outcome } from '../types.js';
import { HttpError, toHttpError } from './http-error.js';
import { jobInWorkspace } from './jobs-access.js';
import { leaseNotHeld, whyNotHeld } from './lease.js';
import type { RouteContext } from './router.js';
import type { ServerDeps } from './server.js';
import { array, errorRecord, numberIn, object, storableValue, string, time } from './validate.js';

/** One event of a worker's report (http/wire.ts), checked, with the job it names. */
type CheckedEvent = ReportEvent & { job: JobRecord };

/**
 * `worker/report`: what a worker tells of the jobs it runs (starts, log lines, ends, releases,
 * flow status), in order. Each event stands on its own: one the server refuses (malformed, a
 * job that is not there, or one whose current lease the worker does not hold) is listed in the
 * answer and loses no other job's. Leases are checked for the whole report before anything is
 * written: every event must be about a job whose lease the worker holds (`worker_id` and the
 * event's `attempt`, as its claim recorded them), and nothing may follow a job's end, so a job
 * it does not hold gets none of its events written. Anything else that fails (the store is
 * down) fails the request, and the worker sends it again.
 *
 * One job's events are written in their order; different jobs' are written side by side, so
 * that the starts and ends of a report's jobs share the store's statements of a tick
 * (tick-statement.ts): a report of ten ends is one durable commit, not ten in a row. The jobs
 * are read the same way, side by side.
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

  // Each event's job id, then each job read once, all at once.
  const named = raw.map((item, i) => {
    const field = `body.events[${i}]`;
    try {
      const event = object(item, field);
      return { event, field, id: string(event, 'job_id', `${field}.job_id`) };
    } catch (err) {
      return { err, field };
    }
  });
  const ids = [...new Set(named.flatMap((n) => (n.id === undefined ? [] : [n.id])))];
  const settled = await Promise.allSettled(ids.map((id) => jobInWorkspace(deps, ctx, id)));
  const read = new Map(ids.map((id, i) => [id, settled[i]]));
  const events: (CheckedEvent | undefined)[] = [];
  for (let i = 0; i < named.length; i++) {
    const n = named[i];
    try {
      if (n.id === undefined) throw n.err;
      const job = read.get(n.id)!;
      if (job.status === 'rejected') throw job.reason;
      events.push(parseEvent(n.event, n.field, job.value));
    } catch (err) {
      if (!ownFault(err)) throw err;
      events.push(undefined);
      refuse(i, err);
    }
  }

  const ended = new Set<string>();
  const notHeld = new Map<string, string>();
  for (const e of events) {
    if (!e) continue;
    const why = ended.has(e.job.id)
      ? `job ${e.job.id} has an event after its end in this report`
      : whyNotHeld(e.job, { workerId, attempt: e.attempt });
    if (why && !notHeld.has(e.job.id)) notHeld.set(e.job.id, why);
    if (e.type === 'finish' || e.type === 'release') ended.add(e.job.id);
  }

  // Each job's events in order; the jobs side by side.
  const byJob = new Map<string, number[]>();
  events.forEach((e, i) => {
    if (!e) return;
    const why = notHeld.get(e.job.id);
    if (why) refuse(i, leaseNotHeld(`The report of worker ${workerId}`, [{ jobId: e.job.id, why }]), e.job.id);
    else if (byJob.has(e.job.id)) byJob.get(e.job.id)!.push(i);
    else byJob.set(e.job.id, [i]);
  });
  const written = await Promise.allSettled(
    [...byJob.values()].map(async (indices) => {
      for (const i of indices) {
        const e = events[i]!;
        try {
          await write(deps, e);
        } catch (err) {
          if (!ownFault(err)) throw err;
          refuse(i, err, e.job.id);
        }
      }
    }),
  );
  // A store that failed fails the request (after every other job's writes have settled).
  for (const w of written) if (w.status === 'rejected') throw w.reason;
  reply.rejected.sort((a, b) => a.index - b.index);
  return reply;
}

function write({ coordinator }: ServerDeps, e: CheckedEvent): Promise<void> {
  switch (e.type) {
    case 'started':
      return coordinator.started(e.job.id, e.at);
    case 'logs':
      return coordinator.appendLogs(e.job.id, e.lines);
    case 'finish':
      return coordinator.finish(e.job.id, e.outcome, e.at, e.started_at);
    case 'release':
      return coordinator.release(e.job.id, e.error, e.at).then(() => {});
    case 'flow_status':
      return coordinator.setFlowStatus(e.job.id, e.status);
    case 'progress':
      return coordinator.setProgress(e.job.id, { percent: e.percent, message: e.message });
  }
}

/** What is wrong with one event is its own; anything else (the store is down) fails the request. */
function ownFault(err: unknown): boolean {
  return err instanceof HttpError || err instanceof MillraceError;
}

function parseEvent(event: Record<string, unknown>, field: string, job: JobRecord): CheckedEvent {
  const attempt = numberIn(event, 'attempt', { min: 0, max: 2 ** 31, integer: true }, `${field}.attempt`);
  const base = { job, job_id: job.id, attempt };
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
