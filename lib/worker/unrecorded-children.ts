import { CanceledError } from '../errors.js';
import { errorRecordOf, toErrorRecord } from '../error-record.js';
import type { ClaimAtOnce, ClaimRequest } from '../store/store.js';
import {
  attemptsAllowed,
  DEFAULT_TAG,
  isFinished,
  type ErrorRecord,
  type JobProgress,
  type JobRecord,
  type JobSpec,
  type Json,
  type NewLogLine,
  type Outcome,
} from '../types.js';
import type { WorkerBackend } from './backend.js';
import { START_HOLD_MS } from './held-starts.js';
import type { Waiter } from './own-children.js';

export interface UnrecordedChildrenOptions {
  /** How long a child runs unrecorded before it is written as running; 0 records each at once. @default START_HOLD_MS */
  holdMs?: number;
  /** Now, as the worker stamps starts and ends (the engine's clock in a test). */
  now: () => number;
  /** A child that could not be recorded is no longer this worker's to run: it is stopped. */
  lost: (jobId: string, error: ErrorRecord) => void;
}

/** A child taken at once and running, of which nothing is written yet. */
interface Unrecorded {
  spec: JobSpec & { id: string };
  claim: ClaimAtOnce;
  parentAttempt: number;
  /** The record it runs with, as the store would have recorded it taken. */
  job: JobRecord;
  /** When its hold runs out (performance.now()). */
  until: number;
  /** Its insert as running, once begun: its hold ran out, or it did something the store must see. */
  recording?: Promise<void>;
  /** Its insert already ended, once begun. */
  ending?: boolean;
  waiters: Waiter[];
}

/**
 * Children recorded with their end. A child a worker takes as it is called (at-once.ts) starts
 * before anything of it is written. If it succeeds within its hold (as a start is held:
 * held-starts.ts), it is written once, already finished (Store.enqueue's `claim.ended`), and
 * its caller's wait is answered from that write: one insert, one commit and, through a server,
 * one request less per short task. A child that runs longer, fails, logs a line, or asks the
 * store anything about itself or under itself is first written as running, as it would have
 * been at its call, and goes on from there as any child taken at once does.
 *
 * This is the worker's backend, wrapping the real one: every verb about a job first records
 * the job if it is unrecorded, and a lease renewal leaves such a job out (the store has no
 * lease of it to renew).
 *
 * Only the first attempt of a parent runs children unrecorded: a later attempt replays the
 * calls it made before, which the store must be asked about. The first attempt has none. A
 * worker that dies before a child is recorded loses the child with its own lease on the
 * parent, whose next attempt calls it again, as it would a child recorded and lost.
 */
export class UnrecordedChildren implements WorkerBackend {
  /** In the order they were taken, which is the order their holds run out. */
  private readonly children = new Map<string, Unrecorded>();
  private timer: NodeJS.Timeout | undefined;
  private readonly offCanceled: (() => void) | undefined;

  constructor(
    private readonly inner: WorkerBackend,
    private readonly options: UnrecordedChildrenOptions,
  ) {
    this.offCanceled = inner.onCanceled?.((jobId) => this.parentGone(jobId));
  }

  /**
   * The record `spec` (a call of `parent`, taken at once by `claim`'s worker) runs with
   * unrecorded; undefined when it must be recorded first (see the class).
   */
  take(parent: JobRecord, spec: JobSpec & { id: string }, claim: ClaimAtOnce): JobRecord | undefined {
    const { holdMs = START_HOLD_MS, now } = this.options;
    if (holdMs <= 0 || !this.inner.submit || parent.attempt !== 1 || this.children.has(parent.id)) return undefined;
    // AtOnce.reserve took a plain task call only (no delay, no flow control): as the store would have.
    if (spec.kind !== 'task' || spec.flowControl || spec.delayMs || spec.idempotencyKey !== undefined) return undefined;
    const at = now();
    const job: JobRecord = {
      id: spec.id,
      workspace: parent.workspace,
      kind: spec.kind,
      scriptPath: spec.scriptPath,
      scriptHash: spec.scriptHash,
      entrypoint: spec.entrypoint,
      args: spec.args,
      tag: spec.tag ?? DEFAULT_TAG,
      status: 'running',
      parentJob: parent.id,
      rootJob: parent.rootJob,
      callKey: spec.callKey ?? null,
      attempt: 1,
      maxAttempts: attemptsAllowed(spec),
      timeout: spec.timeout ?? null,
      retry: spec.retry ?? null,
      createdAt: at,
      scheduledFor: at,
      startedAt: null,
      completedAt: null,
      durationMs: null,
      worker: claim.workerId,
      result: null,
      error: null,
      path: `${parent.path}/${spec.id}`,
      canceledBy: null,
      idempotencyKey: null,
      priority: 0,
      flowControl: null,
      cachedFrom: null,
    };
    const until = performance.now() + holdMs;
    const taken = { ...claim, takenAt: at };
    this.children.set(job.id, { spec, claim: taken, parentAttempt: parent.attempt, job, until, waiters: [] });
    this.timer ??= setTimeout(() => this.due(), holdMs).unref();
    return job;
  }

  /** Stops recording children whose hold ran out (the worker closes; what is unrecorded is lost with it). */
  close(): void {
    this.offCanceled?.();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private due(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const child of this.children.values()) {
      if (child.recording || child.ending) continue;
      if (child.until > now) {
        this.timer = setTimeout(() => this.due(), child.until - now).unref();
        return;
      }
      this.startRecording(child);
    }
  }

  /**
   * `then`, once the job is recorded running (as it would have been at its call) if it is
   * unrecorded; at once for any other job, with no turn between.
   */
  private afterRecorded<T>(jobId: string | null | undefined, then: () => Promise<T>): Promise<T> {
    const child = jobId == null ? undefined : this.children.get(jobId);
    if (child) return this.record(child).then(then);
    try {
      return then();
    } catch (err) {
      return Promise.reject(err as Error); // as an async verb fails: never by a throw
    }
  }

  private record(child: Unrecorded): Promise<void> {
    if (child.recording) return child.recording;
    this.earlierFirst(child);
    child.recording = this.inner.submit!(child.spec, child.claim).then(
      (job) => {
        this.children.delete(child.job.id);
        const taken = 'status' in job && job.id === child.job.id && job.worker === child.claim.workerId;
        if (!taken) {
          // Its call was recorded already (it cannot be, on a first attempt): that record answers it.
          this.options.lost(child.job.id, { name: 'Error', message: `its call is recorded as job ${job.id}` });
        }
        this.handOver(child.waiters, job.id);
      },
      (err: unknown) => {
        this.children.delete(child.job.id);
        this.options.lost(child.job.id, toErrorRecord(err));
        for (const w of child.waiters) w.reject(err);
        throw err;
      },
    );
    return child.recording;
  }

  /**
   * Writes the siblings taken before `child` and still unrecorded, running, ahead of it: a
   * parent's children are recorded in the order they were called (its listings and timeline
   * read them in that order), whichever ends first.
   */
  private earlierFirst(child: Unrecorded): void {
    for (const other of this.children.values()) {
      if (other === child) return;
      if (other.job.parentJob === child.job.parentJob) this.startRecording(other);
    }
  }

  /** A child submitted by any other way is recorded at once: the parent's unrecorded children go first. */
  private childrenFirst(parentJob: string | undefined): void {
    if (parentJob === undefined) return;
    for (const other of this.children.values()) if (other.job.parentJob === parentJob) this.startRecording(other);
  }

  private startRecording(child: Unrecorded): void {
    if (!child.recording && !child.ending) this.record(child).catch(() => {}); // its failure stops it (`lost`)
  }

  /**
   * A job canceled, or no longer this worker's: its unrecorded children never were, as far as
   * the store knows, and are stopped unrecorded; their callers hear that they were canceled.
   */
  private parentGone(jobId: string): void {
    for (const child of this.children.values()) {
      if (child.job.parentJob !== jobId || child.recording || child.ending) continue;
      this.children.delete(child.job.id);
      const error = new CanceledError(
        child.job.id,
        `its parent job ${jobId} was canceled or is no longer this worker's`,
      );
      this.options.lost(child.job.id, errorRecordOf(CanceledError, error.message));
      for (const w of child.waiters) w.reject(error);
    }
  }

  waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord> {
    const child = this.children.get(jobId);
    if (!child) return this.inner.waitFinished(jobId, signal);
    return new Promise((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      child.waiters.push({ resolve, reject });
    });
  }

  /**
   * A success within the hold is the child's one write, finished; its waiters hear of it once
   * it is committed. Any other end is recorded as the end of a child recorded running.
   */
  async finish(jobId: string, outcome: Outcome, at: number, startedAt?: number): Promise<unknown> {
    const child = this.children.get(jobId);
    if (!child || child.recording || child.ending || outcome.status !== 'success')
      return this.afterRecorded(jobId, () => this.inner.finish(jobId, outcome, at, startedAt));
    child.ending = true;
    this.earlierFirst(child);
    const ended = { result: outcome.result, startedAt, at, parentAttempt: child.parentAttempt };
    let job: JobRecord | { id: string };
    try {
      job = await this.inner.submit!(child.spec, { ...child.claim, ended });
    } catch (err) {
      this.children.delete(jobId);
      for (const w of child.waiters) w.reject(err);
      throw err;
    }
    this.children.delete(jobId);
    if ('status' in job && job.id === jobId && isFinished(job)) for (const w of child.waiters) w.resolve(job);
    else this.handOver(child.waiters, job.id);
    return job;
  }

  /** Waits on a child this worker no longer holds unrecorded: the backend answers them. */
  private handOver(waiters: readonly Waiter[], jobId: string): void {
    for (const w of waiters)
      this.inner.waitFinished(jobId).then(
        (job) => w.resolve(job),
        (err: unknown) => w.reject(err),
      );
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    const recorded = jobIds.filter((id) => !this.children.has(id));
    return recorded.length === 0 ? [] : this.inner.renewLeases(workerId, recorded, leaseMs);
  }

  get reportsInOrder(): boolean | undefined {
    return this.inner.reportsInOrder;
  }

  claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]> {
    return this.inner.claim(request, signal);
  }

  started(jobId: string, at: number): Promise<unknown> {
    return this.afterRecorded(jobId, () => this.inner.started(jobId, at));
  }

  appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void> {
    return this.afterRecorded(jobId, () => this.inner.appendLogs(jobId, lines));
  }

  submitChild(spec: JobSpec): Promise<string> {
    this.childrenFirst(spec.parentJob);
    return this.afterRecorded(spec.parentJob, () => this.inner.submitChild(spec));
  }

  submit(spec: JobSpec, claim?: ClaimAtOnce): Promise<JobRecord | { id: string }> {
    this.childrenFirst(spec.parentJob);
    return this.afterRecorded(spec.parentJob, () => this.inner.submit!(spec, claim));
  }

  release(jobId: string, error: ErrorRecord, at: number): Promise<void> {
    return this.afterRecorded(jobId, () => this.inner.release(jobId, error, at));
  }

  findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    return this.afterRecorded(parentJob, () => this.inner.findChild(parentJob, callKey));
  }

  recordStep(...step: Parameters<WorkerBackend['recordStep']>): Promise<JobRecord> {
    return this.afterRecorded(step[0].parentJob, () => this.inner.recordStep(...step));
  }

  onCanceled(listener: (jobId: string) => void): () => void {
    return this.inner.onCanceled?.(listener) ?? (() => {});
  }

  getJob(jobId: string): Promise<JobRecord | undefined> {
    return this.afterRecorded(jobId, () => this.inner.getJob(jobId));
  }

  cancelJob(jobId: string, reason: string): Promise<void> {
    return this.afterRecorded(jobId, () => this.inner.cancelJob(jobId, reason));
  }

  setFlowStatus(jobId: string, status: Json): Promise<void> {
    return this.afterRecorded(jobId, () => this.inner.setFlowStatus(jobId, status));
  }

  sendEvent(jobId: string, name: string, payload: Json) {
    return this.afterRecorded(jobId, () => this.inner.sendEvent(jobId, name, payload));
  }

  resumeUrls(jobId: string, resumeId: string) {
    return this.afterRecorded(jobId, () => this.inner.resumeUrls(jobId, resumeId));
  }

  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>): Promise<void> {
    return this.afterRecorded(jobId, () => this.inner.setProgress(jobId, progress));
  }

  getProgress(jobId: string): Promise<JobProgress | undefined> {
    return this.afterRecorded(jobId, () => this.inner.getProgress(jobId));
  }

  get getRunTrace(): WorkerBackend['getRunTrace'] {
    return this.inner.getRunTrace?.bind(this.inner);
  }
}
