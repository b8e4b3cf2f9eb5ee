import { UnknownJobError } from '../errors.js';
import type { CancelRequest, ClaimRequest, Store } from '../store/store.js';
import {
  FINISHED_STATUSES,
  type ErrorRecord,
  type JobRecord,
  type JobSpec,
  type Json,
  type LogLine,
  type NewLogLine,
  type Outcome,
  type RetryOptions,
} from '../types.js';
import type { WorkerBackend } from '../worker/backend.js';
import { Hub } from './hub.js';

export interface CoordinatorOptions {
  /** How often expired leases are looked for. @default 5000 */
  sweepIntervalMs?: number;
  /** Leases a job may lose (its worker died) before it fails. @default 3 */
  maxLostLeases?: number;
  /**
   * Other processes write to the same store (a CLI reading a database that a running
   * `millrace run` writes): waits also wake on this interval, since their events do not
   * reach this process. Unset, waits wake on events only.
   */
  externalWritersPollMs?: number;
}

/**
 * The one place that changes jobs: it writes through the store and tells waiters, log
 * followers and workers what changed. The embedded engine and the server each own one; a
 * local worker uses it directly as its backend.
 */
export class Coordinator implements WorkerBackend {
  readonly hub = new Hub();
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly store: Store,
    private readonly options: CoordinatorOptions = {},
  ) {
    this.sweepTimer = setInterval(() => void this.sweep(), options.sweepIntervalMs ?? 5000);
    this.sweepTimer.unref();
  }

  async submit(spec: JobSpec): Promise<JobRecord> {
    const { job, created } = await this.store.enqueue(spec);
    if (created) this.hub.emit('queued', job);
    return job;
  }

  async submitChild(spec: JobSpec): Promise<string> {
    return (await this.submit(spec)).id;
  }

  /** Claims due jobs; when there are none, waits for one to be queued (or for `signal`). */
  async claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]> {
    while (!signal.aborted && !this.closed) {
      const wake = this.hub.next(['queued'], signal);
      const jobs = await this.store.claim(request);
      if (jobs.length > 0) {
        wake.cancel();
        return jobs;
      }
      await this.waitOr(wake);
    }
    return [];
  }

  async started(jobId: string, at: number): Promise<void> {
    await this.store.markStarted(jobId, at);
    this.hub.emit(`started:${jobId}`, at);
  }

  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void> {
    const written = await this.store.appendLogs(jobId, lines);
    const byJob = new Map<string, LogLine[]>();
    for (const line of written) {
      const list = byJob.get(line.jobId);
      if (list) list.push(line);
      else byJob.set(line.jobId, [line]);
    }
    for (const [id, list] of byJob) this.hub.emit(`logs:${id}`, list);
  }

  /**
   * Records how an attempt ended. A failed attempt with attempts left goes back to the queue
   * after its backoff, unless the error says it must not be retried.
   */
  async finish(jobId: string, outcome: Outcome, at: number): Promise<void> {
    if (outcome.status === 'failure') {
      const job = await this.store.get(jobId);
      if (job && job.status === 'running' && job.attempt < job.maxAttempts && outcome.error.code !== 'NON_RETRYABLE') {
        const delayMs = backoffMs(job.retry, job.attempt);
        const requeued = await this.store.retry(jobId, outcome.error, at + delayMs);
        if (requeued) {
          this.announceLater(requeued, delayMs);
          return;
        }
      }
    }
    const job = await this.store.complete(jobId, outcome, at);
    if (job) this.hub.emit(`finished:${jobId}`, job);
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const job = await this.store.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    const canceled = await this.store.cancel(jobId, request);
    for (const c of canceled) {
      this.hub.emit('canceled', c);
      this.hub.emit(`finished:${c.id}`, c);
    }
    return canceled;
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.store.get(jobId);
  }

  async cancelJob(jobId: string, reason: string): Promise<void> {
    const job = await this.store.get(jobId);
    if (job && !isFinished(job)) await this.cancel(jobId, { reason, by: 'job' });
  }

  async setFlowStatus(jobId: string, status: Json): Promise<void> {
    await this.store.setFlowStatus(jobId, status);
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    return this.store.renewLeases(workerId, jobIds, leaseMs);
  }

  /** Resolves with the job once it has finished (success, failure or canceled). */
  async waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    let finished: JobRecord | undefined;
    const off = this.hub.on<JobRecord>(`finished:${jobId}`, (job) => (finished ??= job));
    try {
      for (;;) {
        const wake = this.hub.next([`finished:${jobId}`], signal);
        // The event carries the finished record; read the store only when it has not come yet.
        const job = finished ?? (await this.store.get(jobId));
        if (!job) {
          wake.cancel();
          throw new UnknownJobError(jobId);
        }
        if (isFinished(job) || signal?.aborted) {
          wake.cancel();
          return job;
        }
        await this.waitOr(wake);
      }
    } finally {
      off();
    }
  }

  /**
   * A job's log from cursor `after`: the lines recorded so far and, with `follow`, each new
   * one as it is written, until the job has finished.
   */
  async *followLogs(jobId: string, options: { after?: number; follow?: boolean; signal?: AbortSignal } = {}): AsyncGenerator<LogLine> {
    let cursor = options.after ?? 0;
    for (;;) {
      const wake = this.hub.next([`logs:${jobId}`, `finished:${jobId}`], options.signal);
      const lines = await this.store.readLogs(jobId, { after: cursor });
      if (lines.length > 0) {
        wake.cancel();
        cursor = lines[lines.length - 1].seq;
        yield* lines;
        continue;
      }
      const job = await this.store.get(jobId);
      if (!job) {
        wake.cancel();
        throw new UnknownJobError(jobId);
      }
      if (!options.follow || isFinished(job) || options.signal?.aborted) {
        wake.cancel();
        // Lines written between the read above and the status check.
        for (const line of await this.store.readLogs(jobId, { after: cursor })) yield line;
        return;
      }
      await this.waitOr(wake);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    for (const t of this.retryTimers) clearTimeout(t);
    this.hub.emit('queued');
  }

  /** Returns jobs of dead workers to the queue; fails those with no attempts left. */
  async sweep(): Promise<void> {
    if (this.closed) return;
    const { requeued, failed } = await this.store.expireLeases(Date.now(), this.options.maxLostLeases ?? 3);
    for (const job of requeued) this.hub.emit('queued', job);
    for (const job of failed) this.hub.emit(`finished:${job.id}`, job);
  }

  private announceLater(job: JobRecord, delayMs: number): void {
    if (delayMs <= 0) {
      this.hub.emit('queued', job);
      return;
    }
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.hub.emit('queued', job);
    }, delayMs);
    timer.unref();
    this.retryTimers.add(timer);
  }

  private async waitOr(wake: { promise: Promise<void>; cancel: () => void }): Promise<void> {
    const poll = this.options.externalWritersPollMs;
    if (poll === undefined) return wake.promise;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([wake.promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, poll)))]);
    clearTimeout(timer);
    wake.cancel();
  }
}

export function isFinished(job: JobRecord): boolean {
  return FINISHED_STATUSES.includes(job.status);
}

/** The wait before attempt `attempt + 1`, after attempt `attempt` failed. */
export function backoffMs(retry: RetryOptions | null, attempt: number): number {
  if (!retry) return 0;
  const delay = retry.delay ?? 1;
  const multiplier = retry.multiplier ?? 2;
  const maxDelay = retry.maxDelay ?? 300;
  return Math.round(Math.min(delay * multiplier ** (attempt - 1), maxDelay) * 1000);
}

/** A failure record for an error raised by millrace itself rather than user code. */
export function failure(error: ErrorRecord): Outcome {
  return { status: 'failure', error };
}
