import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConfigError, UnknownJobError } from '../errors.js';
import { describeValue } from '../describe.js';
import { errorRecordOf } from '../error-record.js';
import type { CancelRequest, ClaimAtOnce, ClaimRequest, HeldLease, Store } from '../store/store.js';
import { heldBy } from '../store/policy.js';
import { realClock, type Clock, type ClockTimer } from '../clock.js';
import {
  isFinished,
  type ErrorRecord,
  type JobRecord,
  type JobSpec,
  type JobProgress,
  type RunTrace,
  type Json,
  type LogLine,
  type NewLogLine,
  type Outcome,
  type ResumeUrls,
  type EventSent,
  NEVER_DUE,
} from '../types.js';
import type { WorkerBackend } from '../worker/backend.js';
import { sendEvent, takeKeptEvent, waitDue } from './events.js';
import { Hub } from './hub.js';
import { resumeUrls } from './resume-urls.js';
import { checkSameCall } from './same-call.js';
import { followLogPages, type FollowLogsOptions } from './log-pages.js';
import { Announcements } from './announcements.js';
import { DrainedClaims } from './drained-claims.js';
import { UnfinishedJobs } from './unfinished-jobs.js';
import { backoffMs, retriable } from './retry-policy.js';
import { onStoreChange } from './store-changes.js';
import type { CoordinatorOptions } from './coordinator-options.js';

/**
 * The one place that changes jobs: it writes through the store and tells waiters, log
 * followers and workers what changed. The embedded engine and the server each own one; a
 * local worker uses it directly as its backend.
 */
export class Coordinator implements WorkerBackend {
  readonly hub = new Hub();
  readonly clock: Clock;
  private sweepTimer: ClockTimer | undefined;
  private readonly firstSweep: ClockTimer;
  private readonly announce: Announcements;
  private readonly drained: DrainedClaims;
  /** The jobs this process created and has not heard end (unfinished-jobs.ts). */
  readonly unfinished: UnfinishedJobs;
  private readonly unsubscribe: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly store: Store,
    readonly options: CoordinatorOptions = {},
  ) {
    this.clock = options.clock ?? realClock;
    const aging = options.priorityAgingMs;
    if (aging !== undefined && !(typeof aging === 'number' && aging >= 0)) {
      throw new ConfigError(
        `priorityAgingMs must be a number of milliseconds ≥ 0 (Infinity: no aging), got ${describeValue(aging)}`,
      );
    }
    this.announce = new Announcements(this.hub, this.clock, options.observers ?? []);
    this.drained = new DrainedClaims(this.hub);
    this.unfinished = new UnfinishedJobs(this.hub);
    this.firstSweep = this.clock.timeout(options.firstSweepDelayMs ?? 0, () => {
      this.sweepTimer = this.clock.interval(options.sweepIntervalMs ?? 5000, () => void this.sweep());
    });
    // A shared store (PostgreSQL) reports what other servers write: their events wake ours.
    this.unsubscribe = store.subscribe?.((change) => onStoreChange(store, this.announce, change));
  }

  /**
   * Persists a job. A child whose (parent, call key) is already recorded is that recorded
   * child (durable replay), provided it is the same call: a different task or different args
   * at the key is a NonDeterminismError. With `claim`, a new job may be taken by that worker at
   * once (Store.enqueue): it is then running, and no claim hears of it. With `parentHeld`, it
   * is recorded only while the caller holds the parent so (ParentNotHeldError).
   */
  async submit(spec: JobSpec, claim?: ClaimAtOnce, parentHeld?: HeldLease): Promise<JobRecord> {
    const mark = this.unfinished.mark;
    const { job, created, committed } = await this.store.enqueue(waitDue(spec), claim, parentHeld);
    if (created && !isFinished(job)) this.unfinished.add(job, mark);
    committed?.catch((err: unknown) => this.notRecorded(job, err));
    if (created && spec.trace) await this.store.setRunTrace(job.id, spec.trace);
    if (created && job.status === 'success') {
      // Cached, or a child that ran before it was recorded (ClaimAtOnce's ended): recorded succeeded.
      if (claim?.ended && job.worker === claim.workerId) {
        this.hub.emit(`started:${job.id}`, job.startedAt);
        this.announce.observe((o) => o.finished?.(job));
      }
      this.hub.emit(`finished:${job.id}`, job);
      return job;
    }
    // A wait takes the event that came before it; one still waiting is due at its timeout.
    const taken =
      created && job.kind === 'wait' ? await takeKeptEvent(this.store, this.hub, job, this.clock.now()) : undefined;
    if (taken) return taken;
    if (created) {
      if (job.status === 'queued' && job.scheduledFor < NEVER_DUE) this.announce.queuedAt(job, job.scheduledFor);
    } else if (spec.callKey !== undefined && spec.parentJob !== undefined) checkSameCall(job, spec);
    return job;
  }

  /**
   * A child taken at once whose insert's commit failed: it was never recorded, and its
   * worker's end will be refused. Its waiters in this process hear of it as a failure.
   */
  private notRecorded(job: JobRecord, err: unknown): void {
    const message = `Job ${job.id} was not recorded: the commit of its insert failed (${(err as Error).message})`;
    this.hub.emit(`finished:${job.id}`, {
      ...job,
      status: 'failure',
      error: errorRecordOf(UnknownJobError, message),
      completedAt: this.clock.now(),
    } satisfies JobRecord);
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    return this.store.findChild(parentJob, callKey);
  }

  /** Records a step's result once; a step already recorded at the key keeps its first result. */
  async recordStep(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<JobRecord> {
    const { job, created } = await this.store.record(spec, outcome, startedAt, at);
    if (created) this.announce.observe((o) => o.finished?.(job));
    if (created) this.hub.emit(`finished:${job.id}`, job);
    else checkSameCall(job, spec);
    return job;
  }

  /** Puts a running job back in the queue through no fault of its own (see Store.release). */
  async release(jobId: string, error: ErrorRecord, at: number): Promise<void> {
    const job = await this.store.release(jobId, error, at);
    if (!job) return;
    this.hub.emit('queued', job);
    this.announce.observe((o) => o.released?.(job));
  }

  async submitChild(spec: JobSpec): Promise<string> {
    return (await this.submit(spec)).id;
  }

  /**
   * Claims due jobs; when there are none, waits for one to be queued (or for `signal`). A
   * worker whose last claim took fewer jobs than it asked for waits at once when nothing was
   * queued since (drained-claims.ts); with writers this process does not hear of, it looks.
   */
  async claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]> {
    let look = this.options.externalWritersPollMs !== undefined || !this.drained.unchanged(request.workerId);
    while (!signal.aborted && !this.closed) {
      const wake = this.hub.next(['queued'], signal);
      if (look) {
        const mark = this.drained.current;
        const jobs = await this.store.claim({
          ...request,
          ...(this.options.priorityAgingMs !== undefined && { priorityAgingMs: this.options.priorityAgingMs }),
          // Held back until dueAt, in the engine's time (a test's clock moves only when told).
          onDeferred: (dueAt) => this.announce.queuedAt(undefined, dueAt),
        });
        this.drained.looked(request.workerId, mark, jobs.length < request.limit);
        if (jobs.length > 0) {
          wake.cancel();
          return jobs;
        }
      }
      look = true;
      await this.waitOr(wake);
    }
    return [];
  }

  /** Records a job's start; false when it was not recorded (the job is not running, or not held by `held`). */
  async started(jobId: string, at: number, held?: HeldLease): Promise<boolean> {
    const recorded = await this.store.markStarted(jobId, at, held);
    if (recorded) this.hub.emit(`started:${jobId}`, at);
    return recorded;
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
   * Records how an attempt ended (and its start, held back by its worker, when `startedAt`). A failed
   * attempt with attempts left goes back to the queue after its backoff, unless the error says not to.
   * Returns whether the end was recorded: false when the job had finished already (the first
   * word stands), or, given `held`, when the job is not held so.
   */
  async finish(jobId: string, outcome: Outcome, at: number, startedAt?: number, held?: HeldLease): Promise<boolean> {
    if (outcome.status === 'failure') {
      const job = await this.store.get(jobId);
      if (held && !(job && heldBy(job, held))) return false;
      if (job && job.status === 'running' && job.attempt < job.maxAttempts && retriable(outcome)) {
        if (startedAt !== undefined) await this.started(jobId, startedAt);
        const delayMs = backoffMs(job.retry, job.attempt);
        const requeued = await this.store.retry(jobId, outcome.error, at, this.clock.now() + delayMs);
        if (requeued) {
          this.announce.observe((o) => o.retried?.(requeued));
          this.announce.freedSlot(requeued);
          this.announce.queuedAt(requeued, requeued.scheduledFor);
          return true;
        }
      }
    }
    const job = await this.store.finish(jobId, outcome, at, startedAt, held);
    if (!job) return false;
    if (startedAt !== undefined) this.hub.emit(`started:${jobId}`, startedAt);
    this.announce.observe((o) => o.finished?.(job));
    this.hub.emit(`finished:${jobId}`, job);
    this.announce.freedSlot(job);
    // A job that failed for good leaves nothing of its own running: children it started and
    // did not await are canceled.
    if (outcome.status !== 'success') await this.cancelDescendants(job);
    return true;
  }

  private async cancelDescendants(job: JobRecord): Promise<void> {
    const reason = `its parent job ${job.id} ${job.status === 'canceled' ? 'was canceled' : 'failed'}`;
    const canceled = await this.store.cancel(job.id, { reason, by: `parent ${job.id}` });
    this.announce.canceled(canceled);
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const job = await this.store.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    const canceled = await this.store.cancel(jobId, request);
    this.announce.canceled(canceled);
    canceled.forEach((c) => this.announce.freedSlot(c));
    return canceled;
  }

  /** Sends an event to a job (see engine/events.ts); UnknownJobError, or JobFinishedError once it has finished. */
  sendEvent(jobId: string, name: string, payload: Json, what?: string): Promise<EventSent> {
    return sendEvent(this.store, this.hub, jobId, name, payload, this.clock.now(), what);
  }

  /** The signed URLs of approval `resumeId` of a job, under `options.publicUrl` (set by a server once it listens). */
  async resumeUrls(jobId: string, resumeId: string): Promise<ResumeUrls> {
    const job = await this.store.get(jobId);
    if (!job) throw new UnknownJobError(jobId);
    return resumeUrls(this.store, this.options.publicUrl, job, resumeId);
  }

  onCanceled(listener: (jobId: string) => void): () => void {
    return this.hub.on<JobRecord>('canceled', (job) => listener(job.id));
  }

  // Typed events, for users outside engine/: they never spell the Hub's topics.
  /** `listener` gets job `jobId`'s record when it finishes. Returns the unsubscribe. */
  onFinished(jobId: string, listener: (job: JobRecord) => void): () => void {
    return this.hub.on<JobRecord>(`finished:${jobId}`, listener);
  }

  /** `listener` hears of new log lines of job `jobId` (its own or a descendant's). */
  onLogs(jobId: string, listener: () => void): () => void {
    return this.hub.on(`logs:${jobId}`, () => listener());
  }

  /** `listener` hears of a job queued (or due) for claiming; the record when this process knows it. */
  onQueued(listener: (job: JobRecord | undefined) => void): () => void {
    return this.hub.on<JobRecord | undefined>('queued', listener);
  }

  /**
   * Resolves on the next change of job `jobId`: it started, logged a line or finished (or
   * `signal` aborted). A reader of its state subscribes before it reads, so that no change
   * between the read and the wait is missed; `cancel` unsubscribes without waiting.
   */
  nextChange(jobId: string, signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    return this.hub.next([`logs:${jobId}`, `finished:${jobId}`, `started:${jobId}`], signal);
  }

  /** Wakes every claim waiting for a job, to look at the store again (jobs released by another path). */
  wakeClaims(): void {
    this.hub.emit('queued');
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

  async setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>): Promise<void> {
    if (!(await this.store.setProgress(jobId, progress, Date.now()))) throw new UnknownJobError(jobId);
  }

  getProgress(jobId: string): Promise<JobProgress | undefined> {
    return this.store.getProgress(jobId);
  }

  getRunTrace(rootJob: string): Promise<RunTrace | undefined> {
    return this.store.getRunTrace(rootJob);
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    return this.store.renewLeases(workerId, jobIds, leaseMs);
  }

  /** Resolves with the job once it has finished (success, failure or canceled). */
  async waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    let finished: JobRecord | undefined;
    const off = this.hub.on<JobRecord>(`finished:${jobId}`, (job) => (finished ??= job));
    // A job this process created and has not heard end (unfinished-jobs.ts): its end is still to come, as an event.
    let look = !this.unfinished.has(jobId);
    try {
      for (;;) {
        const wake = this.hub.next([`finished:${jobId}`], signal);
        if (look || finished || signal?.aborted) {
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
        }
        look = true;
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
  async *followLogs(jobId: string, options: FollowLogsOptions = {}): AsyncGenerator<LogLine> {
    for await (const page of this.followLogPages(jobId, options)) {
      yield* page;
      // A reader of a long log in this process (the embedded engine's) lets the worker and
      // timers run between pages: SQLite reads are synchronous, so without this a fast
      // reader would hold the event loop for the whole log.
      await nextTurn();
    }
  }

  /** The same log as pages of at most `pageSize` lines (see log-pages.ts). */
  followLogPages(jobId: string, options: FollowLogsOptions = {}): AsyncGenerator<LogLine[]> {
    return followLogPages({ store: this.store, hub: this.hub, wait: (wake) => this.waitOr(wake) }, jobId, options);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.firstSweep.clear();
    this.unsubscribe?.();
    this.sweepTimer?.clear();
    this.announce.close();
    this.hub.emit('queued');
  }

  /** Returns jobs of dead workers to the queue; fails those with no attempts left. */
  async sweep(): Promise<void> {
    if (this.closed) return;
    const { requeued, failed } = await this.store.expireLeases(this.clock.now(), this.options.maxLostLeases ?? 3);
    if (requeued.length + failed.length > 0) this.announce.observe((o) => o.leasesExpired?.({ requeued, failed }));
    for (const job of requeued) this.hub.emit('queued', job);
    for (const job of failed) this.hub.emit(`finished:${job.id}`, job);
    failed.forEach((job) => this.announce.freedSlot(job));
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
