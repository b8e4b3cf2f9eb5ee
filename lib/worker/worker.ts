import { setMaxListeners } from 'node:events';
import { availableParallelism, hostname } from 'node:os';
import { ConfigError, toErrorRecord, TimeoutError } from '../errors.js';
import { newJobId } from '../ids.js';
import { positionalArgs } from '../loader/args.js';
import { longTimeout, type LongTimer } from '../timers.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import { flowRunRequest, pathChildTarget, resolveStepScript } from '../flow/run-request.js';
import type { ChildOutcome } from '../task/runtime.js';
import { jobName, type ErrorRecord, type JobRecord, type JobSpec, type Json, type NewLogLine, type Outcome } from '../types.js';
import type { WorkerBackend } from './backend.js';
import { ExecutorPool, type ExecutorThread } from './pool.js';
import { checkScriptHash, jobContext, type ChildCall, type RunRequest, type StepRequest, type ThreadMessage } from './protocol.js';

/** See WorkerOptions.maxVersions; measured in docs/performance.md. */
export const DEFAULT_MAX_VERSIONS = 50;

export interface WorkerOptions {
  backend: WorkerBackend;
  /** The project root scripts are resolved under. */
  root: string;
  /** The tags served, or 'all'. */
  tags: readonly string[] | 'all';
  /** Jobs that may be working at once; a job awaiting children does not count. @default CPU count */
  concurrency?: number;
  /** Executor threads. @default CPU count */
  threads?: number;
  /**
   * Versions of the project's modules an executor thread may hold (each edit of a script,
   * or of a module it imports, that a job runs is one) before the thread is replaced: it
   * gets no new jobs, finishes those it holds, and ends. Node cannot unload an ES module.
   * @default 50
   */
  maxVersions?: number;
  /** Only jobs of these runs (a live set: the embedded engine adds each run it starts). */
  rootJobs?: Set<string>;
  workspace?: string;
  /** @default `${hostname}-${random}` */
  id?: string;
  /** @default 30000 */
  leaseMs?: number;
  /** How often leases are renewed (and the worker learns of canceled jobs, over HTTP). @default min(2000, leaseMs / 3) */
  heartbeatMs?: number;
  /**
   * How long a stopped job's code (canceled, timed out) may take to unwind after its signal
   * aborts before its executor thread is replaced. @default 500
   */
  stopGraceMs?: number;
  /**
   * Jobs claimed ahead of free slots, so a slot that frees starts the next job without a
   * round trip to the store or the server. Jobs claimed ahead wait on this worker even when
   * a peer is idle; 0 gives every queued job to whichever worker frees a slot first.
   * @default 4 × concurrency
   */
  prefetch?: number;
}

/** A job this worker has claimed and started. */
interface Running {
  job: JobRecord;
  thread: ExecutorThread;
  /** Whether it holds one of the `concurrency` slots (it does unless it awaits children). */
  slot: boolean;
  /** Task calls it awaits. */
  pending: number;
  /** Fires when the job runs past its timeout (chained: a timeout may exceed 24.9 days). */
  timer?: LongTimer;
}

/** A job this worker stopped whose code has not returned yet; its thread goes if it doesn't. */
interface Stopping {
  thread: ExecutorThread;
  grace: NodeJS.Timeout;
}

interface Resume {
  running: Running;
  callId: number;
  outcome: ChildOutcome;
}

/**
 * Claims jobs for its tags and runs them on its executor threads. Slot accounting
 * (invariant 3): a job holds a slot while it works and gives it up while it awaits task
 * calls; the last awaited result is delivered only when a slot is free again, and such
 * resumptions go before new claims, so a run deep in its tree finishes before new ones start.
 */
export class Worker {
  readonly id: string;
  readonly concurrency: number;
  readonly prefetch: number;
  private readonly backend: WorkerBackend;
  private readonly pool: ExecutorPool;
  private readonly running = new Map<string, Running>();
  private readonly ready: JobRecord[] = [];
  private readonly resumes: Resume[] = [];
  private readonly logBuffer = new Map<string, NewLogLine[]>();
  private logFlush: Promise<void> = Promise.resolve();
  private logFlushScheduled = false;
  private held = 0;
  private readonly abort = new AbortController();
  private capacityWaiter: (() => void) | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly leaseMs: number;
  private readonly claimLoop: Promise<void>;
  private readonly stopping = new Map<string, Stopping>();
  /** Threads being replaced, with why: the jobs on them go back to the queue. */
  private readonly replacing = new Map<ExecutorThread, string>();
  private readonly offCanceled: (() => void) | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.backend = options.backend;
    this.id = options.id ?? `${hostname()}-${newJobId().slice(0, 6)}`;
    this.concurrency = options.concurrency ?? availableParallelism();
    this.prefetch = options.prefetch ?? 4 * this.concurrency;
    this.leaseMs = options.leaseMs ?? 30_000;
    const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
    if (!Number.isInteger(maxVersions) || maxVersions < 1) {
      throw new ConfigError(`maxVersions: expected a positive integer (versions an executor thread may hold), got ${String(maxVersions)}`);
    }
    this.pool = new ExecutorPool({
      size: options.threads ?? availableParallelism(),
      root: options.root,
      maxVersions,
      onMessage: (thread, msg) => this.onThreadMessage(thread, msg),
      onExit: (thread, error) => this.onThreadExit(thread, error),
    });
    // Every awaited child listens to this signal; there can be thousands at once.
    setMaxListeners(0, this.abort.signal);
    this.heartbeat = setInterval(() => void this.renewLeases(), options.heartbeatMs ?? Math.min(2000, this.leaseMs / 3));
    this.heartbeat.unref();
    this.offCanceled = this.backend.onCanceled?.((jobId) => this.abandon(jobId, { name: 'CanceledError', code: 'CANCELED', message: 'the job was canceled' }));
    this.claimLoop = this.claimForever();
  }

  /** Executor threads retired so far (they held their most versions of the project's modules, or a changed CommonJS module). */
  get retiredThreads(): number {
    return this.pool.retired;
  }

  /** Ids of the jobs this worker runs now. */
  get jobIds(): string[] {
    return [...this.running.keys()];
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.capacityWaiter?.();
    clearInterval(this.heartbeat);
    this.offCanceled?.();
    for (const { grace } of this.stopping.values()) clearTimeout(grace);
    for (const running of this.running.values()) running.timer?.clear();
    await this.claimLoop;
    await this.pool.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private free(): number {
    return this.concurrency - this.held;
  }

  private async claimForever(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      const want = this.free() + this.prefetch - this.ready.length - this.resumes.length;
      if (want <= 0) {
        await new Promise<void>((resolve) => (this.capacityWaiter = resolve));
        this.capacityWaiter = undefined;
        continue;
      }
      try {
        const jobs = await this.backend.claim(
          {
            workerId: this.id,
            tags: this.options.tags,
            rootJobs: this.options.rootJobs,
            workspace: this.options.workspace,
            limit: want,
            leaseMs: this.leaseMs,
          },
          signal,
        );
        this.ready.push(...jobs);
        this.pump();
      } catch (err) {
        if (signal.aborted) return;
        console.error(`millrace worker ${this.id}: claiming failed, retrying in 1s: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Hands free slots to resumptions first, then to claimed jobs. */
  private pump(): void {
    while (this.free() > 0 && this.resumes.length > 0) {
      const { running, callId, outcome } = this.resumes.shift()!;
      if (!this.running.has(running.job.id)) continue;
      running.pending--;
      this.takeSlot(running);
      running.thread.send({ type: 'callDone', callId, outcome });
    }
    while (this.free() > 0 && this.ready.length > 0) this.start(this.ready.shift()!);
    if (this.free() + this.prefetch - this.ready.length - this.resumes.length > 0) this.capacityWaiter?.();
  }

  private takeSlot(running: Running): void {
    running.slot = true;
    running.thread.working++;
    this.held++;
  }

  private releaseSlot(running: Running): void {
    if (!running.slot) return;
    running.slot = false;
    running.thread.working--;
    this.held--;
  }

  private start(job: JobRecord): void {
    if (job.kind === 'sleep') {
      // A durable sleep is over when it is claimed (it was due only now): nothing runs.
      const at = Date.now();
      void this.backend.started(job.id, at).catch((err) => this.warn(`recording the start of ${job.id}`, err));
      void this.finish(job.id, { status: 'success', result: null }, at);
      return;
    }
    let request: RunRequest;
    try {
      request = this.runRequest(job);
    } catch (err) {
      void this.finish(job.id, { status: 'failure', error: toErrorRecord(err) });
      return;
    }
    const thread = this.pool.pick();
    const running: Running = { job, thread, slot: false, pending: 0 };
    this.running.set(job.id, running);
    thread.jobs++;
    this.takeSlot(running);
    if (job.timeout !== null) {
      running.timer = longTimeout(job.timeout * 1000, () => this.timedOut(running), { ref: false });
    }
    thread.send({ type: 'run', job: request });
  }

  /** The job ran past its timeout: the attempt fails with a TimeoutError and its code is stopped. */
  private timedOut(running: Running): void {
    const { job } = running;
    if (this.running.get(job.id) !== running) return;
    const error = toErrorRecord(
      new TimeoutError(`Job ${job.id} (${jobName(job)}) ran past its timeout of ${job.timeout}s on attempt ${job.attempt} of ${job.maxAttempts}`),
    );
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
    const grace = setTimeout(() => {
      this.stopping.delete(job.id);
      this.replaceThread(thread, `job ${job.id} did not stop (${error.name}: ${error.message})`);
    }, this.options.stopGraceMs ?? 500);
    grace.unref();
    this.stopping.set(job.id, { thread, grace });
    thread.send({ type: 'abort', jobId: job.id, error });
    this.pump();
  }

  /** No longer counts a job as this worker's: frees its slot; whatever it still reports is ignored. */
  private forget(running: Running): void {
    running.timer?.clear();
    this.releaseSlot(running);
    running.thread.jobs--;
    this.running.delete(running.job.id);
    this.pool.settle(running.thread);
  }

  private replaceThread(thread: ExecutorThread, why: string): void {
    if (this.replacing.has(thread) || this.abort.signal.aborted) return;
    this.replacing.set(thread, why);
    this.pool.replace(thread);
  }

  private runRequest(job: JobRecord): RunRequest {
    // A flow job runs the built-in flow runner; a flow step's inline code is written out first.
    if (job.kind === 'flow') return flowRunRequest(this.options.root, job);
    const script = job.kind === 'flowstep' ? resolveStepScript(this.options.root, job.scriptPath) : resolveScript(this.options.root, job.scriptPath);
    checkScriptHash(`Worker ${this.id}`, job, { path: job.scriptPath, hash: script.hash });
    let args: (Json | undefined)[];
    if (job.kind === 'task') {
      args = Array.isArray(job.args) ? job.args : [];
    } else {
      const sig = inferSignatureOfFile(script.file, script.hash);
      args = positionalArgs(sig, (job.args ?? {}) as Record<string, Json>);
    }
    return {
      context: jobContext(job),
      file: script.file,
      hash: script.hash,
      entrypoint: job.entrypoint,
      kind: job.kind === 'task' ? 'task' : 'script',
      args,
    };
  }

  private onThreadMessage(thread: ExecutorThread, msg: ThreadMessage): void {
    switch (msg.type) {
      case 'ready':
        break;
      case 'refused':
        this.moveRefused(thread, msg.jobId);
        break;
      case 'logs':
        // Lines of a job that has ended or is no longer this worker's (code still running
        // after its job returned, or was canceled) are dropped: its log is closed.
        for (const l of msg.lines) if (this.running.has(l.jobId)) this.bufferLog(l.jobId, { ts: l.ts, stream: l.stream, line: l.line });
        break;
      case 'started':
        void this.backend.started(msg.jobId, msg.at).catch((err) => this.warn(`recording the start of ${msg.jobId}`, err));
        break;
      case 'call': {
        const { call } = msg;
        this.onCall(msg.callId, msg.parentId, (parent) => this.runChild(parent, call));
        break;
      }
      case 'step':
        void this.onStep(thread, msg.callId, msg.parentId, msg.step);
        break;
      case 'flowStatus': {
        // In line with the job's log, so that the last status is stored before the job's end.
        const { jobId, status } = msg;
        if (!this.running.has(jobId)) break;
        this.logFlush = this.logFlush.then(() => this.backend.setFlowStatus(jobId, status).catch((err) => this.warn(`recording the flow status of ${jobId}`, err)));
        break;
      }
      case 'jobOp': {
        const { op, jobId, reason } = msg;
        this.onCall(msg.callId, msg.parentId, () => this.jobOp(op, jobId, reason));
        break;
      }
      case 'done': {
        const stopped = this.stopping.get(msg.jobId);
        if (stopped) {
          // A stopped job's code unwound in time: its thread stays; its end was already recorded.
          clearTimeout(stopped.grace);
          this.stopping.delete(msg.jobId);
          break;
        }
        const running = this.running.get(msg.jobId);
        if (!running) break;
        this.forget(running);
        this.pump();
        void this.finish(msg.jobId, msg.outcome, msg.at);
        break;
      }
    }
  }

  /**
   * A thread could not give a job its code (it holds its most versions of the project's
   * modules, or an older CommonJS copy of a changed file): the thread is retired, and the job
   * starts again on another one.
   */
  private moveRefused(thread: ExecutorThread, jobId: string): void {
    this.pool.retire(thread);
    const stopped = this.stopping.get(jobId);
    if (stopped) {
      clearTimeout(stopped.grace);
      this.stopping.delete(jobId);
    }
    const running = this.running.get(jobId);
    if (!running) return;
    let request: RunRequest;
    try {
      request = this.runRequest(running.job);
    } catch (err) {
      this.forget(running);
      this.pump();
      void this.finish(jobId, { status: 'failure', error: toErrorRecord(err) });
      return;
    }
    const next = this.pool.pick();
    running.thread.jobs--;
    if (running.slot) running.thread.working--;
    this.pool.settle(running.thread);
    running.thread = next;
    next.jobs++;
    if (running.slot) next.working++;
    next.send({ type: 'run', job: request });
  }

  /** A call the job awaits (a child, or an operation on a job): its slot is free meanwhile. */
  private onCall(callId: number, parentId: string, work: (parent: Running) => Promise<ChildOutcome>): void {
    const running = this.running.get(parentId);
    if (!running) return;
    running.pending++;
    if (running.slot) {
      this.releaseSlot(running);
      this.pump();
    }
    void work(running).then((outcome) => {
      if (!this.running.has(parentId)) return;
      if (running.pending > 1) {
        running.pending--;
        running.thread.send({ type: 'callDone', callId, outcome });
      } else {
        this.resumes.push({ running, callId, outcome });
        this.pump();
      }
    });
  }

  /** A step's recorded result, or the recording of one. */
  private async onStep(thread: ExecutorThread, callId: number, parentId: string, step: StepRequest): Promise<void> {
    const running = this.running.get(parentId);
    if (!running) return;
    try {
      if (step.op === 'get') {
        const job = await this.backend.findChild(parentId, step.callKey);
        const found = job?.status === 'success';
        thread.send({ type: 'stepDone', callId, found, ...(found && { recorded: job.result }) });
      } else {
        await this.flushLogs();
        const job = await this.backend.recordStep(
          {
            kind: 'step',
            scriptPath: running.job.scriptPath,
            scriptHash: running.job.scriptHash,
            entrypoint: step.name,
            args: [],
            tag: running.job.tag,
            workspace: running.job.workspace,
            parentJob: parentId,
            callKey: step.callKey,
          },
          { status: 'success', result: step.result },
          step.startedAt,
          step.at,
        );
        thread.send({ type: 'stepDone', callId, found: true, recorded: job.result });
      }
    } catch (err) {
      thread.send({ type: 'stepDone', callId, found: false, error: toErrorRecord(err) });
    }
  }

  /** Submits the call as a child job and waits for it; any failure to do so fails the call. */
  private async runChild(parent: Running, call: ChildCall): Promise<ChildOutcome> {
    let childId: string | undefined;
    try {
      // The parent's lines so far go to the store before its child exists, so logs read in order.
      await this.flushLogs();
      childId = await this.backend.submitChild({
        ...childTarget(this.options.root, parent.job, call),
        tag: call.tag,
        workspace: parent.job.workspace,
        parentJob: parent.job.id,
        callKey: call.callKey,
        timeout: call.timeout,
        retry: call.retry,
        ...(call.seconds !== undefined && { delayMs: call.seconds * 1000 }),
      });
      if (call.detach) return { status: 'success', result: childId, jobId: childId, tag: call.tag, attempt: 0, maxAttempts: call.retry?.attempts ?? 1 };
      const done = await this.backend.waitFinished(childId, this.abort.signal);
      return childOutcome(done);
    } catch (err) {
      return {
        status: 'failure',
        error: toErrorRecord(err),
        jobId: childId ?? '(not submitted)',
        tag: call.tag,
        attempt: 0,
        maxAttempts: call.retry?.attempts ?? 1,
      };
    }
  }

  /** waitJob, getJobStatus / getResult and cancelJob called by a running job. */
  private async jobOp(op: 'wait' | 'get' | 'cancel', jobId: string, reason?: string): Promise<ChildOutcome> {
    const base = { jobId, tag: '', attempt: 0, maxAttempts: 1 };
    try {
      switch (op) {
        case 'wait':
          return childOutcome(await this.backend.waitFinished(jobId, this.abort.signal));
        case 'get':
          return { ...base, status: 'success', result: ((await this.backend.getJob(jobId)) ?? null) as unknown as Json };
        case 'cancel':
          await this.backend.cancelJob(jobId, reason ?? 'canceled');
          return { ...base, status: 'success', result: null };
      }
    } catch (err) {
      return { ...base, status: 'failure', error: toErrorRecord(err) };
    }
  }

  private async finish(jobId: string, outcome: Outcome, at = Date.now()): Promise<void> {
    try {
      await this.flushLogs();
      await this.backend.finish(jobId, outcome, at);
    } catch (err) {
      this.warn(`recording the end of ${jobId}`, err);
    }
  }

  /**
   * A thread is gone (the pool has started its replacement). Replaced on purpose, its jobs go
   * back to the queue, through no fault of theirs. Died of something no job can be blamed for
   * by name (out of memory, a native crash; a job's process.exit fails that job alone and
   * does not end the thread): if exactly one of its jobs was working, that one is the likely
   * cause and fails; the others, and all of them when it cannot be told, are released.
   */
  private onThreadExit(thread: ExecutorThread, error: Error): void {
    const why = this.replacing.get(thread);
    this.replacing.delete(thread);
    for (const [jobId, stopped] of this.stopping) {
      if (stopped.thread !== thread) continue;
      clearTimeout(stopped.grace);
      this.stopping.delete(jobId);
    }
    const onThread = [...this.running.values()].filter((r) => r.thread === thread);
    const working = onThread.filter((r) => r.slot);
    const culprit = why === undefined && working.length === 1 ? working[0] : undefined;
    for (const running of onThread) {
      this.forget(running);
      const jobId = running.job.id;
      if (running === culprit) {
        void this.finish(jobId, {
          status: 'failure',
          error: { ...toErrorRecord(error), message: `Its executor thread died while it was the only job working there: ${error.message}` },
        });
        continue;
      }
      const message =
        why !== undefined ? `Its executor thread was replaced: ${why}` : `Its executor thread died (${error.message}) while running ${working.length} jobs at once`;
      const released: ErrorRecord = { name: 'ReleasedError', code: 'RELEASED', message };
      void this.flushLogs()
        .then(() => this.backend.release(jobId, released, Date.now()))
        .catch((err) => this.warn(`requeueing ${jobId}`, err));
    }
    this.pump();
  }

  private bufferLog(jobId: string, line: NewLogLine): void {
    const list = this.logBuffer.get(jobId);
    if (list) list.push(line);
    else this.logBuffer.set(jobId, [line]);
    if (!this.logFlushScheduled) {
      this.logFlushScheduled = true;
      setImmediate(() => void this.flushLogs());
    }
  }

  /** Writes buffered lines, in order; resolves when every line buffered so far is stored. */
  private flushLogs(): Promise<void> {
    this.logFlushScheduled = false;
    if (this.logBuffer.size === 0) return this.logFlush;
    const batch = [...this.logBuffer];
    this.logBuffer.clear();
    this.logFlush = this.logFlush.then(async () => {
      for (const [jobId, lines] of batch) {
        await this.backend.appendLogs(jobId, lines).catch((err) => this.warn(`writing the log of ${jobId}`, err));
      }
    });
    return this.logFlush;
  }

  private async renewLeases(): Promise<void> {
    const ids = [...this.running.keys(), ...this.ready.map((j) => j.id)];
    try {
      const lost = await this.backend.renewLeases(this.id, ids, this.leaseMs);
      for (const id of lost) {
        this.abandon(id, { name: 'CanceledError', code: 'CANCELED', message: 'the job is no longer this worker’s (canceled, or its lease ran out)' });
      }
    } catch (err) {
      this.warn('renewing leases', err);
    }
  }

  /**
   * A job is no longer this worker's (canceled, or its lease went to another worker): a
   * claimed one is dropped, a running one stopped (see `stop`).
   */
  private abandon(jobId: string, error: ErrorRecord): void {
    const at = this.ready.findIndex((j) => j.id === jobId);
    if (at >= 0) this.ready.splice(at, 1);
    const running = this.running.get(jobId);
    if (running) this.stop(running, error);
    else this.pump();
  }

  private warn(what: string, err: unknown): void {
    if (!this.abort.signal.aborted) console.error(`millrace worker ${this.id}: ${what} failed: ${(err as Error).message}`);
  }
}

/** What a call makes: a task of a module, a sleep of the calling job, or a script, flow or flow step by path. */
function childTarget(root: string, parent: JobRecord, call: ChildCall): Pick<JobSpec, 'kind' | 'scriptPath' | 'scriptHash' | 'entrypoint' | 'args'> {
  switch (call.kind) {
    case 'task': {
      const script = resolveScript(root, call.scriptPath);
      return { kind: 'task', scriptPath: script.path, scriptHash: script.hash, entrypoint: call.name, args: call.args };
    }
    case 'sleep':
      return { kind: 'sleep', scriptPath: parent.scriptPath, scriptHash: parent.scriptHash, entrypoint: call.name, args: call.args };
    default:
      return pathChildTarget(root, call);
  }
}

function childOutcome(job: JobRecord): ChildOutcome {
  const base = { jobId: job.id, tag: job.tag, attempt: job.attempt, maxAttempts: job.maxAttempts };
  switch (job.status) {
    case 'success':
      return { ...base, status: 'success', result: job.result };
    case 'canceled':
      return { ...base, status: 'canceled', error: job.error ?? { name: 'CanceledError', message: 'canceled' } };
    default:
      return { ...base, status: 'failure', error: job.error ?? { name: 'Error', message: `job ended as ${job.status}` } };
  }
}
