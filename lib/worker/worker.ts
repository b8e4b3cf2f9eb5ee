import { setMaxListeners } from 'node:events';
import { availableParallelism, hostname } from 'node:os';
import { toErrorRecord, ScriptHashMismatchError } from '../errors.js';
import { newJobId } from '../ids.js';
import { positionalArgs } from '../loader/args.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import { flowRunRequest, pathChildTarget, resolveStepScript } from '../flow/run-request.js';
import type { ChildOutcome } from '../task/runtime.js';
import type { JobRecord, Json, NewLogLine, Outcome } from '../types.js';
import type { WorkerBackend } from './backend.js';
import { ExecutorPool, type ExecutorThread } from './pool.js';
import type { ChildCall, RunRequest, ThreadMessage } from './protocol.js';

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
  /** Only jobs of these runs (a live set: the embedded engine adds each run it starts). */
  rootJobs?: Set<string>;
  workspace?: string;
  /** @default `${hostname}-${random}` */
  id?: string;
  /** @default 30000 */
  leaseMs?: number;
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

  constructor(private readonly options: WorkerOptions) {
    this.backend = options.backend;
    this.id = options.id ?? `${hostname()}-${newJobId().slice(0, 6)}`;
    this.concurrency = options.concurrency ?? availableParallelism();
    this.prefetch = options.prefetch ?? 4 * this.concurrency;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pool = new ExecutorPool({
      size: options.threads ?? availableParallelism(),
      root: options.root,
      onMessage: (thread, msg) => this.onThreadMessage(thread, msg),
      onExit: (thread, error) => this.onThreadExit(thread, error),
    });
    // Every awaited child listens to this signal; there can be thousands at once.
    setMaxListeners(0, this.abort.signal);
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(1000, this.leaseMs / 3));
    this.heartbeat.unref();
    this.claimLoop = this.claimForever();
  }

  /** Ids of the jobs this worker runs now. */
  get jobIds(): string[] {
    return [...this.running.keys()];
  }

  async close(): Promise<void> {
    this.abort.abort();
    this.capacityWaiter?.();
    clearInterval(this.heartbeat);
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
    thread.send({ type: 'run', job: request });
  }

  private runRequest(job: JobRecord): RunRequest {
    // A flow job runs the built-in flow runner; a flow step's inline code is written out first.
    if (job.kind === 'flow') return flowRunRequest(this.options.root, job);
    const script = job.kind === 'flowstep' ? resolveStepScript(this.options.root, job.scriptPath) : resolveScript(this.options.root, job.scriptPath);
    if (script.hash !== job.scriptHash) {
      throw new ScriptHashMismatchError(
        `Worker ${this.id} will not run job ${job.id}: its copy of ${job.scriptPath} (sha256 ${script.hash.slice(0, 12)}) ` +
          `differs from the one submitted (sha256 ${job.scriptHash.slice(0, 12)}). Deploy the same code to every worker.`,
      );
    }
    let args: (Json | undefined)[];
    if (job.kind === 'task') {
      args = Array.isArray(job.args) ? job.args : [];
    } else {
      const sig = inferSignatureOfFile(script.file, script.hash);
      args = positionalArgs(sig, (job.args ?? {}) as Record<string, Json>);
    }
    return {
      context: {
        id: job.id,
        rootId: job.rootJob,
        parentId: job.parentJob ?? undefined,
        script: job.scriptPath,
        task: job.kind === 'task' ? job.entrypoint : undefined,
        tag: job.tag,
        attempt: job.attempt,
        workspace: job.workspace,
      },
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
      case 'logs':
        // Lines of a job that has ended or is no longer this worker's (code still running
        // after its job returned, or was canceled) are dropped: its log is closed.
        for (const l of msg.lines) if (this.running.has(l.jobId)) this.bufferLog(l.jobId, { ts: l.ts, stream: l.stream, line: l.line });
        break;
      case 'started':
        void this.backend.started(msg.jobId, msg.at).catch((err) => this.warn(`recording the start of ${msg.jobId}`, err));
        break;
      case 'call':
        this.onCall(msg.callId, msg.parentId, msg.call);
        break;
      case 'flowStatus': {
        // In line with the job's log, so that the last status is stored before the job's end.
        const { jobId, status } = msg;
        if (!this.running.has(jobId)) break;
        this.logFlush = this.logFlush.then(() => this.backend.setFlowStatus(jobId, status).catch((err) => this.warn(`recording the flow status of ${jobId}`, err)));
        break;
      }
      case 'done': {
        const running = this.running.get(msg.jobId);
        if (running) {
          this.releaseSlot(running);
          thread.jobs--;
          this.running.delete(msg.jobId);
          this.pump();
        }
        void this.finish(msg.jobId, msg.outcome, msg.at);
        break;
      }
    }
  }

  private onCall(callId: number, parentId: string, call: ChildCall): void {
    const running = this.running.get(parentId);
    if (!running) return;
    running.pending++;
    if (running.slot) {
      this.releaseSlot(running);
      this.pump();
    }
    void this.runChild(running, call).then((outcome) => {
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

  /** Submits the call as a child job and waits for it; any failure to do so fails the call. */
  private async runChild(parent: Running, call: ChildCall): Promise<ChildOutcome> {
    let childId: string | undefined;
    try {
      if (call.about) return await this.jobOp(call.about);
      // The parent's lines so far go to the store before its child exists, so logs read in order.
      await this.flushLogs();
      const target = call.kind ? pathChildTarget(this.options.root, call) : taskChildTarget(this.options.root, call);
      childId = await this.backend.submitChild({
        ...target,
        tag: call.tag,
        workspace: parent.job.workspace,
        parentJob: parent.job.id,
        callKey: call.callKey,
        timeout: call.timeout,
        retry: call.retry,
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
  private async jobOp(about: NonNullable<ChildCall['about']>): Promise<ChildOutcome> {
    const base = { jobId: about.jobId, tag: '', attempt: 0, maxAttempts: 1 };
    switch (about.op) {
      case 'wait':
        return childOutcome(await this.backend.waitFinished(about.jobId, this.abort.signal));
      case 'get':
        return { ...base, status: 'success', result: ((await this.backend.getJob(about.jobId)) ?? null) as unknown as Json };
      case 'cancel':
        await this.backend.cancelJob(about.jobId, about.reason ?? 'canceled');
        return { ...base, status: 'success', result: null };
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

  private onThreadExit(thread: ExecutorThread, error: Error): void {
    for (const running of [...this.running.values()]) {
      if (running.thread !== thread) continue;
      this.releaseSlot(running);
      this.running.delete(running.job.id);
      void this.finish(running.job.id, {
        status: 'failure',
        error: { ...toErrorRecord(error), message: `Its executor thread died: ${error.message}` },
      });
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
      for (const id of lost) this.abandon(id);
    } catch (err) {
      this.warn('renewing leases', err);
    }
  }

  /**
   * Stops counting a job that is no longer this worker's (canceled, or its lease went to
   * another worker): its slot is freed and whatever it still reports is ignored. Code already
   * running in a thread cannot be interrupted; it runs on unobserved until it returns.
   */
  private abandon(jobId: string): void {
    const at = this.ready.findIndex((j) => j.id === jobId);
    if (at >= 0) this.ready.splice(at, 1);
    const running = this.running.get(jobId);
    if (running) {
      this.releaseSlot(running);
      running.thread.jobs--;
      this.running.delete(jobId);
    }
    this.pump();
  }

  private warn(what: string, err: unknown): void {
    if (!this.abort.signal.aborted) console.error(`millrace worker ${this.id}: ${what} failed: ${(err as Error).message}`);
  }
}

function taskChildTarget(root: string, call: ChildCall) {
  const script = resolveScript(root, call.scriptPath);
  return { kind: 'task' as const, scriptPath: script.path, scriptHash: script.hash, entrypoint: call.name, args: call.args };
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
