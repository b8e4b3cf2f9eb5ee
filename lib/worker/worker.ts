import { setMaxListeners } from 'node:events';
import { availableParallelism, hostname } from 'node:os';
import { CanceledError } from '../errors.js';
import { errorRecordOf, toErrorRecord } from '../error-record.js';
import { newJobId } from '../ids.js';
import type { ChildOutcome } from '../task/runtime.js';
import type { ErrorRecord, JobRecord, Outcome } from '../types.js';
import { AtOnce } from './at-once.js';
import { ChildCalls } from './child-calls.js';
import { ClaimLoop } from './claim-loop.js';
import { Leases } from './leases.js';
import { LogBuffer } from './log-buffer.js';
import { maxVersionsOf, type WorkerOptions } from './options.js';
import { ExecutorPool, type ExecutorThread } from './pool.js';
import type { RunRequest, ThreadMessage } from './protocol.js';
import { runRequest } from './run-request.js';
import { Slots, type SlotUse } from './slots.js';
import { RunningJobs, timeoutError, type Resume, type Running } from './running-jobs.js';
import { Stops } from './stops.js';
import { drainWorker, type DrainReport } from './drain.js';
import { IdleWatch } from './idle.js';
import { inLineReport } from './in-line-reports.js';
import { RunTraces, sendRun, tracingEnabled } from './run-traces.js';
import { endNoCodeJob } from './claimed-waits.js';
import { threadExitEnds } from './thread-exit.js';
import { HeldStarts } from './held-starts.js';
import { UnrecordedChildren } from './unrecorded-children.js';

export { DEFAULT_MAX_VERSIONS, type WorkerOptions } from './options.js';

/**
 * Claims jobs for its tags and runs them on its executor threads: the composition of the claim loop (claim-loop.ts),
 * slot accounting (slots.ts), the jobs on each thread (running-jobs.ts), the run request (run-request.ts), claimed
 * sleeps and waits (claimed-waits.ts), child calls and steps (child-calls.ts), log buffering (log-buffer.ts), held
 * starts (held-starts.ts), children recorded with their end (unrecorded-children.ts: the backend given, wrapped),
 * leases (leases.ts), stopped jobs (stops.ts) and a thread gone (thread-exit.ts).
 */
export class Worker {
  readonly id: string;
  readonly concurrency: number;
  readonly prefetch: number;
  private readonly backend: UnrecordedChildren;
  private readonly pool: ExecutorPool;
  private readonly running: RunningJobs;
  private readonly slots: Slots<JobRecord, Resume>;
  private readonly logs: LogBuffer;
  private readonly calls: ChildCalls;
  private readonly atOnce: AtOnce | undefined;
  private readonly leases: Leases;
  private readonly stops: Stops;
  private readonly starts: HeldStarts;
  private readonly abort = new AbortController();
  /** Stops claiming alone (a drain), where `abort` also ends the waits of running jobs. */
  private readonly claimsStop = new AbortController();
  private readonly idle = new IdleWatch(() => this.running.size === 0);
  private readonly traces: RunTraces | undefined;
  private readonly claims: ClaimLoop;
  /** Threads being replaced, with why: the jobs on them go back to the queue. */
  private readonly replacing = new Map<ExecutorThread, string>();
  /** Jobs whose code ended and whose end is not recorded yet: still this worker's, their leases renewed. */
  private readonly ending = new Set<string>();
  private readonly offCanceled: (() => void) | undefined;

  constructor(private readonly options: WorkerOptions) {
    const [now, lost] = [() => this.stamp(Date.now()), (id: string, e: ErrorRecord) => this.abandon(id, e)];
    this.backend = new UnrecordedChildren(options.backend, { holdMs: options.startHoldMs, now, lost });
    this.traces = tracingEnabled() ? new RunTraces(this.backend) : undefined;
    this.id = options.id ?? `${hostname()}-${newJobId().slice(0, 6)}`;
    this.concurrency = options.concurrency ?? availableParallelism();
    this.prefetch = options.prefetch ?? 4 * this.concurrency;
    this.slots = new Slots(this.concurrency, this.prefetch);
    const leaseMs = options.leaseMs ?? 30_000;
    this.pool = new ExecutorPool({
      size: options.threads ?? availableParallelism(),
      root: options.root,
      maxVersions: maxVersionsOf(options),
      onMessage: (thread, msg) => this.onThreadMessage(thread, msg),
      onExit: (thread, error) => this.onThreadExit(thread, error),
    });
    this.running = new RunningJobs(this.slots, this.pool);
    // Every awaited child listens to this signal; there can be thousands at once.
    setMaxListeners(0, this.abort.signal);
    const warn = (what: string, err: unknown) => this.warn(what, err);
    this.logs = new LogBuffer(this.backend, warn);
    this.starts = new HeldStarts((jobId, at) => this.backend.started(jobId, at), warn, options.startHoldMs);
    const { tags, rootJobs, workspace } = options;
    const [asking, stopped] = [() => this.claims.asking, () => this.claimsStop.signal.aborted];
    this.atOnce =
      options.backend.submit && new AtOnce({ tags, slots: this.slots, asking, stopped, pump: () => this.pump() });
    this.calls = new ChildCalls({
      backend: this.backend,
      root: options.root,
      signal: this.abort.signal,
      logs: this.logs,
      ...(this.atOnce && { atOnce: { claim: { workerId: this.id, leaseMs }, settle: (j) => this.atOnce!.settle(j) } }),
      unrecorded: this.backend,
    });
    this.stops = new Stops(options.stopGraceMs ?? 500);
    this.claims = new ClaimLoop({
      backend: this.backend,
      request: { workerId: this.id, tags, rootJobs, workspace, leaseMs },
      wanted: () => this.slots.wanted,
      claimed: (jobs) => {
        this.slots.ready.push(...jobs);
        this.pump();
      },
      signal: this.claimsStop.signal,
    });
    this.leases = new Leases({
      backend: this.backend,
      workerId: this.id,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.min(2000, leaseMs / 3),
      held: () => [...this.running.ids(), ...this.slots.ready.map((j) => j.id), ...this.ending],
      lost: (jobId, error) => this.abandon(jobId, error),
      warn,
    });
    this.offCanceled = this.backend.onCanceled?.((jobId) =>
      this.abandon(jobId, errorRecordOf(CanceledError, 'the job was canceled')),
    );
  }

  /** Executor threads retired so far (they held their most versions of the project's modules, or a changed CommonJS module). */
  get retiredThreads(): number {
    return this.pool.retired;
  }

  /** Ids of the jobs this worker runs now. */
  get jobIds(): string[] {
    return this.running.ids();
  }

  /** Renews the leases of the jobs it holds now, as its heartbeat does (millrace/testing does before it moves its clock). */
  renewLeases(): Promise<void> {
    return this.leases.renew();
  }

  /** A start or end time as recorded: the engine's clock when one was given (a test's), else the thread's real time. */
  private stamp(at: number): number {
    return this.options.clock ? this.options.clock.now() : at;
  }

  /** Stops claiming, releases jobs claimed ahead, lets running ones finish for `graceMs`, releases the rest (drain.ts). Then close(). */
  drain(graceMs: number): Promise<DrainReport> {
    return drainWorker(
      {
        workerId: this.id,
        stopClaiming: () => (this.claimsStop.abort(), this.claims.done),
        takeClaimed: () => this.slots.ready.splice(0),
        running: () => this.jobIds,
        whenIdle: () => this.idle.idle(),
        stopJob: (jobId, error) => this.stop(this.running.get(jobId)!, error),
        release: (jobId, error) =>
          this.logs.flushed().then(() => this.backend.release(jobId, error, this.stamp(Date.now()))),
      },
      graceMs,
    );
  }

  async close(): Promise<void> {
    this.claimsStop.abort();
    this.abort.abort();
    this.leases.close();
    this.backend.close();
    this.offCanceled?.();
    this.stops.close();
    for (const running of this.running.values()) running.timer?.clear();
    await this.claims.done;
    await this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Hands free slots out (resumptions first, then claimed jobs: see slots.ts), then claims more if it can. */
  private pump(): void {
    for (let use = this.nextUse(); use; use = this.nextUse()) {
      if (use.kind === 'start') {
        this.start(use.job);
        continue;
      }
      const { holder, callId, outcome } = use.resume;
      if (use.kind === 'resume') holder.thread.working++;
      holder.thread.send({ type: 'callDone', callId, outcome });
    }
    this.claims.wake();
  }

  private nextUse(): SlotUse<JobRecord, Resume> | undefined {
    return this.slots.next((resume) => this.running.has(resume.holder.job.id));
  }

  private start(job: JobRecord): void {
    const noCode = {
      backend: this.backend,
      stamp: (at: number) => this.stamp(at),
      finish: (jobId: string, outcome: Outcome, at?: number) => this.finish(jobId, outcome, at),
      warn: (what: string, err: unknown) => this.warn(what, err),
    };
    if (endNoCodeJob(job, noCode)) return;
    let request: RunRequest;
    try {
      request = runRequest(this.options.root, `Worker ${this.id}`, job);
    } catch (err) {
      void this.finish(job.id, { status: 'failure', error: toErrorRecord(err) });
      return;
    }
    const thread = this.pool.pick();
    this.running.add(job, thread, (running) => this.timedOut(running));
    sendRun(thread, request, job, this.traces);
  }

  /** The job ran past its timeout: the attempt fails with a TimeoutError and its code is stopped. */
  private timedOut(running: Running): void {
    const { job } = running;
    if (this.running.get(job.id) !== running) return;
    const error = timeoutError(job);
    this.stop(running, error);
    void this.finish(job.id, { status: 'failure', error });
  }

  /**
   * Stops a job's code: its signal aborts and its awaited calls end; if it has not returned
   * within the grace period, its thread is replaced (and the thread's other jobs requeued).
   */
  private stop(running: Running, error: ErrorRecord): void {
    const { job, thread } = running;
    this.forget(running);
    this.stops.add(job.id, thread, () =>
      this.replaceThread(thread, `job ${job.id} did not stop (${error.name}: ${error.message})`),
    );
    thread.send({ type: 'abort', jobId: job.id, error });
    this.pump();
  }

  /** No longer counts a job as this worker's: frees its slot; whatever it still reports is ignored. */
  private forget(running: Running): void {
    this.running.remove(running);
    this.idle.check();
  }

  private replaceThread(thread: ExecutorThread, why: string): void {
    if (this.replacing.has(thread) || this.abort.signal.aborted) return;
    this.replacing.set(thread, why);
    this.pool.replace(thread);
  }

  private onThreadMessage(thread: ExecutorThread, msg: ThreadMessage): void {
    switch (msg.type) {
      case 'ready':
        break;
      case 'refused':
        this.moveRefused(thread, msg.jobId);
        break;
      case 'logs':
        // Lines of a job ended or no longer this worker's (code running on, or canceled) are dropped: its log is closed.
        for (const l of msg.lines)
          if (this.running.has(l.jobId)) this.logs.add(l.jobId, { ts: l.ts, stream: l.stream, line: l.line });
        break;
      case 'started':
        this.starts.hold(msg.jobId, this.stamp(msg.at));
        break;
      case 'call': {
        const { call } = msg;
        const parent = this.running.get(msg.parentId);
        const atOnce = parent !== undefined && this.atOnce?.reserve(call, parent.slot) === true;
        this.onCall(msg.callId, msg.parentId, (p) => this.calls.run(p.job, call, atOnce));
        break;
      }
      case 'step': {
        const running = this.running.get(msg.parentId);
        if (running) void this.calls.step(running.job, msg.callId, msg.step).then((answer) => thread.send(answer));
        break;
      }
      case 'flowStatus':
      case 'progress': {
        // In line with the job's log, so that the last one is stored before the job's end.
        if (!this.running.has(msg.jobId)) break;
        this.logs.report(() =>
          inLineReport(this.backend, msg).catch((err) => this.warn(`recording the ${msg.type} of ${msg.jobId}`, err)),
        );
        break;
      }
      case 'eventOp':
        this.onCall(msg.callId, msg.parentId, () => this.calls.eventOp(msg));
        break;
      case 'jobOp': {
        const { op, jobId, reason } = msg;
        // A read of progress sees the reports made before it (written in line with the log).
        const written = op === 'progress' ? this.logs.flushed() : Promise.resolve();
        this.onCall(msg.callId, msg.parentId, () => written.then(() => this.calls.jobOp(op, jobId, reason)));
        break;
      }
      case 'finish': {
        // A stopped job's code unwound in time: its thread stays; its end was already recorded.
        if (this.stops.settle(msg.jobId)) break;
        const running = this.running.get(msg.jobId);
        if (!running) break;
        this.forget(running);
        this.pump();
        void this.finish(msg.jobId, msg.outcome, this.stamp(msg.at));
        break;
      }
    }
  }

  /**
   * A thread could not give a job its code (it holds its most versions of the project's modules,
   * or an older CommonJS copy of a changed file): the thread is retired, the job starts on another.
   */
  private moveRefused(thread: ExecutorThread, jobId: string): void {
    this.pool.retire(thread);
    this.stops.settle(jobId);
    const running = this.running.get(jobId);
    if (!running) return;
    let request: RunRequest;
    try {
      request = runRequest(this.options.root, `Worker ${this.id}`, running.job);
    } catch (err) {
      this.forget(running);
      this.pump();
      void this.finish(jobId, { status: 'failure', error: toErrorRecord(err) });
      return;
    }
    const next = this.pool.pick();
    this.running.move(running, next);
    sendRun(next, request, running.job, this.traces);
  }

  /** A call the job awaits (a child, or an operation on a job): its slot is free meanwhile. */
  private onCall(callId: number, parentId: string, work: (parent: Running) => Promise<ChildOutcome>): void {
    const running = this.running.get(parentId);
    if (!running) return;
    const released = this.slots.callStarted(running);
    if (released) running.thread.working--;
    // An outcome of its that waits for a slot is now delivered without one (slots.ts's next).
    if (released || this.slots.resumes.some((r) => r.holder === running)) this.pump();
    void work(running).then((outcome) => {
      if (!this.running.has(parentId)) return;
      if (this.slots.callEnded({ holder: running, callId, outcome }) === 'deliver')
        running.thread.send({ type: 'callDone', callId, outcome });
      else this.pump();
    });
  }

  /**
   * Records a job's end. Until the backend has recorded it (after the logs, then a
   * report that may wait on a busy server), the job's lease is still renewed: a lease that ran
   * out meanwhile would fail the attempt and run the job again, though it ended here.
   */
  private finish(jobId: string, outcome: Outcome, at = this.stamp(Date.now())): Promise<void> {
    this.ending.add(jobId);
    const startedAt = this.starts.take(jobId);
    const end = this.logs
      .handedOver()
      .then(async () => void (await this.backend.finish(jobId, outcome, at, startedAt)))
      .finally(() => this.ending.delete(jobId));
    return this.idle.track(end.catch((err: unknown) => this.warn(`recording the end of ${jobId}`, err)));
  }

  /** A thread is gone (the pool has started its replacement): each of its jobs fails or is released (thread-exit.ts). */
  private onThreadExit(thread: ExecutorThread, error: Error): void {
    const why = this.replacing.get(thread);
    this.replacing.delete(thread);
    this.stops.settleThread(thread);
    const onThread = this.running.values().filter((r) => r.thread === thread);
    for (const { running, end } of threadExitEnds(onThread, why, error)) {
      this.forget(running);
      const jobId = running.job.id;
      if (end.kind === 'fail') {
        void this.finish(jobId, { status: 'failure', error: end.error });
        continue;
      }
      this.starts.flush(jobId);
      void this.logs
        .flushed()
        .then(() => this.backend.release(jobId, end.error, Date.now()))
        .catch((err) => this.warn(`requeueing ${jobId}`, err));
    }
    this.pump();
  }

  /** A job is no longer this worker's (canceled, its lease lost): a claimed one is dropped, a running one stopped (`stop`). */
  private abandon(jobId: string, error: ErrorRecord): void {
    this.starts.take(jobId); // its start would be refused: it is no longer this worker's
    const at = this.slots.ready.findIndex((j) => j.id === jobId);
    if (at >= 0) this.slots.ready.splice(at, 1);
    const running = this.running.get(jobId);
    if (running) this.stop(running, error);
    else this.pump();
  }

  private warn(what: string, err: unknown): void {
    if (!this.abort.signal.aborted)
      console.error(`millrace worker ${this.id}: ${what} failed: ${(err as Error).message}`);
  }
}
