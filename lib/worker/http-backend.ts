import { hostname } from 'node:os';
import { LeaseNotHeldError, TooLargeError, UnknownJobError } from '../errors.js';
import { toErrorRecord } from '../error-record.js';
import { JsonText, type ApiClient } from '../http/api-client.js';
import type {
  CancelBody,
  ChildBody,
  ChildReply,
  ClaimBody,
  ClaimReply,
  HeartbeatBody,
  HeartbeatReply,
  JobBody,
  JobReply,
  ReportEvent,
} from '../http/wire.js';
import type { StepBody, StepReply, WaitBody, WaitReply } from '../http/wire.js';
import type { SendEventReply } from '../http/wire.js';
import { MAX_CLAIM, REPORT_BUDGET } from '../limits.js';
import type { ClaimAtOnce, ClaimRequest } from '../store/store.js';
import type {
  RunTrace,
  ErrorRecord,
  EventSent,
  JobProgress,
  JobRecord,
  JobSpec,
  Json,
  NewLogLine,
  Outcome,
  ResumeUrls,
} from '../types.js';
import type { WorkerBackend } from './backend.js';
import { TickBatch } from '../tick-batch.js';
import { splitLines } from './report-batches.js';
import { TaskCallBatches } from './http-task-calls.js';
import { ReportSender, serverLimit, tooLarge } from './http-reports.js';
import { untilAnswered } from './until-answered.js';
import { OwnChildren, type Waiter } from './own-children.js';

/** How long the server may hold a claim or a wait open. */
const LONG_POLL_MS = 25_000;

/**
 * A worker's backend over HTTP: claims by long poll, task calls through the
 * workflow_as_code route, and waits for children by long poll, batched so that one request
 * waits for a whole fan-out.
 */
export class HttpBackend implements WorkerBackend {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Waits begun in the same tick (a Promise.all fan-out) share one long poll. */
  private readonly waits = new TickBatch<string>((ids) => this.poll(ids));
  /** Children this worker took: waits on them are answered by their own end's report. */
  private readonly own = new OwnChildren((jobId, waiters) => this.waitOnServer(jobId, waiters));
  private readonly reports: ReportSender;
  /** Every report goes through one ReportSender, which sends them in order, one request at a time. */
  readonly reportsInOrder = true;
  /** This worker's id, as its claims name it: the server checks it against each job's lease. */
  private workerId: string | undefined;
  /**
   * The jobs this worker holds, with the attempt its claim gave each: every report and task call
   * names the attempt, and the server refuses those of a lease the worker no longer holds.
   * A job leaves when its end is reported or its lease is lost.
   */
  private readonly leases = new Map<string, number>();
  private readonly lostListeners = new Set<(jobId: string) => void>();
  /** Task calls made in the same tick to the same task of the same parent: one request per key. */
  private readonly calls: TaskCallBatches;
  private closed = false;
  private readonly host = hostname();

  constructor(
    private readonly client: ApiClient,
    private readonly tags: readonly string[] | 'all',
  ) {
    this.reports = new ReportSender({
      client,
      workerId: () => this.workerId,
      leaseLost: (jobId) => this.lost(jobId),
      untilAnswered: (send) => this.untilAnswered(send),
    });
    this.calls = new TaskCallBatches({
      client,
      workerId: () => this.workerId,
      untilAnswered: (send) => this.untilAnswered(send),
    });
  }

  async claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]> {
    this.workerId = request.workerId;
    while (!signal.aborted) {
      const body: ClaimBody = {
        worker_id: request.workerId,
        hostname: this.host,
        tags: request.tags === 'all' ? 'all' : [...request.tags],
        limit: Math.min(request.limit, MAX_CLAIM),
        lease_ms: request.leaseMs,
        wait_ms: LONG_POLL_MS,
      };
      const reply = await this.client
        .json<ClaimReply>('POST', this.client.ws('worker/claim'), body, signal)
        .catch((err: unknown) => {
          if (signal.aborted) return { jobs: [] };
          throw err;
        });
      for (const job of reply.jobs) {
        const earlier = this.leases.get(job.id);
        this.leases.set(job.id, job.attempt);
        // Claimed again while an earlier attempt of it still runs here: that attempt's lease ran
        // out (a heartbeat came late) and the server handed the job out anew, to this worker. The
        // old run must stop before the new one starts: whatever it reports now would be refused.
        if (earlier !== undefined && earlier !== job.attempt) {
          this.own.left(job.id);
          for (const listener of this.lostListeners) listener(job.id);
        }
      }
      if (reply.jobs.length > 0) return reply.jobs;
    }
    return [];
  }

  started(jobId: string, at: number): Promise<void> {
    return this.report({ type: 'started', job_id: jobId, at });
  }

  /** A job that printed more than one request holds sends its lines in several events. */
  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void> {
    await Promise.all(
      splitLines(lines, REPORT_BUDGET - 1024).map((run) => this.report({ type: 'logs', job_id: jobId, lines: run })),
    );
  }

  /** Task calls made in the same tick to the same task of the same parent go as one request. */
  async submitChild(spec: JobSpec): Promise<string> {
    return (await this.submit(spec)).id;
  }

  /**
   * A task call; with `claim`, its child is taken by this worker as the server records it
   * (the call's `take_id`, the child's id chosen here) when nothing holds it back: it comes
   * back as a claim's job does, and this worker holds its lease from then on.
   */
  async submit(spec: JobSpec, claim?: ClaimAtOnce): Promise<JobRecord | { id: string }> {
    const parentAttempt = this.leases.get(spec.parentJob!);
    if (parentAttempt === undefined) throw this.notHeld(spec.parentJob!, 'make a task call');
    const take = claim && spec.id !== undefined ? { ...claim, id: spec.id } : undefined;
    const { id, taken } = await this.calls.add(spec, parentAttempt, take);
    // A child recorded finished (it ran before it was recorded) holds no lease.
    if (!taken || taken.status !== 'running') return taken ?? { id };
    this.leases.set(taken.id, taken.attempt);
    this.own.took(taken);
    return taken;
  }

  /** A child this worker took is waited on here (own-children.ts); any other job by long poll. */
  waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      const waiter = { resolve, reject };
      if (!this.own.wait(jobId, waiter)) this.waitOnServer(jobId, [waiter]);
    });
  }

  private waitOnServer(jobId: string, waiters: Waiter[]): void {
    const list = this.waiters.get(jobId);
    if (list) list.push(...waiters);
    else this.waiters.set(jobId, waiters);
    this.waits.add(jobId);
  }

  /** A lease this worker no longer holds: the server says how the job ended. */
  private lost(jobId: string): void {
    this.leases.delete(jobId);
    this.own.left(jobId);
  }

  /** Tells the worker of jobs it runs an attempt of that is no longer current (see `claim`), so it stops that run. */
  onCanceled(listener: (jobId: string) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const body: JobBody = { job_id: jobId };
    const reply = await this.untilAnswered(() =>
      this.client.json<JobReply>('POST', this.client.ws('worker/job'), body),
    );
    return reply.job ?? undefined;
  }

  async cancelJob(jobId: string, reason: string): Promise<void> {
    const body: CancelBody = { job_id: jobId, reason };
    await this.untilAnswered(() => this.client.json('POST', this.client.ws('worker/cancel'), body));
  }

  async sendEvent(jobId: string, name: string, payload: Json): Promise<EventSent> {
    const path = this.client.ws(`jobs/${encodeURIComponent(jobId)}/events/${encodeURIComponent(name)}`);
    const reply = await this.untilAnswered(() =>
      this.client.json<SendEventReply>('POST', path, new JsonText(JSON.stringify(payload))),
    );
    return { status: reply.status, waitJob: reply.wait_job };
  }

  resumeUrls(jobId: string, resumeId: string): Promise<ResumeUrls> {
    const path = this.client.ws(`jobs/resume_urls/${encodeURIComponent(jobId)}/${encodeURIComponent(resumeId)}`);
    return this.untilAnswered(() => this.client.json<ResumeUrls>('GET', path));
  }

  setFlowStatus(jobId: string, status: Json): Promise<void> {
    return this.report({ type: 'flow_status', job_id: jobId, status });
  }

  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>): Promise<void> {
    return this.report({ type: 'progress', job_id: jobId, ...progress });
  }

  async getRunTrace(rootJob: string): Promise<RunTrace | undefined> {
    return (
      (await this.untilAnswered(() =>
        this.client.json<RunTrace | null>('GET', this.client.ws(`jobs_u/trace/${encodeURIComponent(rootJob)}`)),
      )) ?? undefined
    );
  }

  async getProgress(jobId: string): Promise<JobProgress | undefined> {
    const reply = await this.untilAnswered(() =>
      this.client.json<JobProgress | null>('GET', this.client.ws(`jobs_u/progress/${encodeURIComponent(jobId)}`)),
    );
    return reply ?? undefined;
  }

  /**
   * A result the server refuses as too large (its body limit is lower than the default that
   * values are checked against) fails the job, once, rather than leaving it running until its
   * lease runs out and it runs again. (The server wrote nothing of the refused request, so the
   * lease is still this worker's.)
   */
  async finish(jobId: string, outcome: Outcome, at: number, startedAt?: number): Promise<void> {
    const attempt = this.leases.get(jobId);
    const started = startedAt === undefined ? {} : { started_at: startedAt };
    try {
      await this.report({ type: 'finish', job_id: jobId, outcome, at, ...started }, { ends: true });
      if (outcome.status === 'success') this.own.succeeded(jobId, outcome.result, startedAt, at);
    } catch (err) {
      if (!tooLarge(err) || outcome.status !== 'success' || attempt === undefined) throw err;
      const size = Buffer.byteLength(JSON.stringify(outcome.result) ?? '');
      const error = new TooLargeError(`The result of job ${jobId}`, size, serverLimit(err) ?? size - 1);
      this.leases.set(jobId, attempt);
      await this.report(
        { type: 'finish', job_id: jobId, outcome: { status: 'failure', error: toErrorRecord(error) }, at, ...started },
        { ends: true },
      );
    } finally {
      this.own.left(jobId);
    }
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    const body: HeartbeatBody = {
      worker_id: workerId,
      hostname: this.host,
      tags: this.tags === 'all' ? 'all' : [...this.tags],
      job_ids: [...jobIds],
      lease_ms: leaseMs,
    };
    const reply = await this.client.json<HeartbeatReply>('POST', this.client.ws('worker/heartbeat'), body);
    for (const id of reply.lost) this.lost(id);
    return reply.lost;
  }

  release(jobId: string, error: ErrorRecord, at: number): Promise<void> {
    return this.report({ type: 'release', job_id: jobId, error, at }, { ends: true }).finally(() =>
      this.own.left(jobId),
    );
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    const body: ChildBody = { parent_job: parentJob, call_key: callKey };
    const reply = await this.untilAnswered(() =>
      this.client.json<ChildReply>('POST', this.client.ws('worker/child'), body),
    );
    return reply.job ?? undefined;
  }

  async recordStep(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<JobRecord> {
    const parentAttempt = this.leases.get(spec.parentJob);
    if (parentAttempt === undefined || this.workerId === undefined) throw this.notHeld(spec.parentJob, 'record a step');
    const body: StepBody = {
      worker_id: this.workerId,
      parent_attempt: parentAttempt,
      parent_job: spec.parentJob,
      call_key: spec.callKey,
      name: spec.entrypoint,
      script_path: spec.scriptPath,
      script_hash: spec.scriptHash,
      outcome,
      started_at: startedAt,
      at,
    };
    const reply = await this.untilAnswered(() =>
      this.client.json<StepReply>('POST', this.client.ws('worker/step'), body),
    );
    return reply.job;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.client.close();
  }

  /** Reports go in order, in batches (http-reports.ts); each names its job's attempt. */
  private report(event: DistributiveOmit<ReportEvent, 'attempt'>, options: { ends?: boolean } = {}): Promise<void> {
    const attempt = this.leases.get(event.job_id);
    if (attempt === undefined) {
      // A line printed by a job after its end (a stray timer, say) has no log to go to any more.
      if (event.type === 'logs') {
        for (const l of event.lines)
          process.stderr.write(`millrace worker: after the end of job ${event.job_id}, not in its log: ${l.line}\n`);
        return Promise.resolve();
      }
      return Promise.reject(this.notHeld(event.job_id, `report ${String(event.type)}`));
    }
    if (options.ends) this.leases.delete(event.job_id);
    return this.reports.send({ ...event, attempt } as ReportEvent);
  }

  private notHeld(jobId: string, what: string): LeaseNotHeldError {
    return new LeaseNotHeldError(
      `Worker ${this.workerId ?? '(no claim yet)'} does not hold job ${jobId} (its end was reported, or its lease was lost): it cannot ${what}`,
    );
  }

  /** A request sent until the server answers it (until-answered.ts), until this backend closes. */
  private untilAnswered<T>(send: () => Promise<T>): Promise<T> {
    return untilAnswered(send, () => this.closed);
  }

  /** Long-polls until every job of the batch has finished; survives a server restart. */
  private async poll(ids: string[]): Promise<void> {
    const remaining = new Set(ids);
    while (remaining.size > 0 && !this.closed) {
      try {
        const body: WaitBody = { ids: [...remaining], wait_ms: LONG_POLL_MS };
        const reply = await this.client.json<WaitReply>('POST', this.client.ws('worker/wait'), body);
        for (const job of reply.finished) {
          remaining.delete(job.id);
          for (const w of this.waiters.get(job.id) ?? []) w.resolve(job);
          this.waiters.delete(job.id);
        }
        for (const id of reply.missing ?? []) {
          remaining.delete(id);
          for (const w of this.waiters.get(id) ?? []) w.reject(new UnknownJobError(id));
          this.waiters.delete(id);
        }
      } catch (err) {
        if (this.closed) return;
        if ((err as { status?: number }).status === 404) {
          for (const id of remaining) for (const w of this.waiters.get(id) ?? []) w.reject(err);
          for (const id of remaining) this.waiters.delete(id);
          return;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}

/** Omit over each member of a union (the built-in Omit would merge the report events into one). */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
