import { TimeoutError } from '../errors.js';
import { toErrorRecord } from '../error-record.js';
import { longTimeout, type LongTimer } from '../timers.js';
import type { ChildOutcome } from '../task/runtime.js';
import { jobName, type ErrorRecord, type JobRecord } from '../types.js';
import type { ExecutorPool, ExecutorThread } from './pool.js';
import type { SlotHolder, Slots } from './slots.js';

/** A job this worker has claimed and started. */
export interface Running extends SlotHolder {
  job: JobRecord;
  thread: ExecutorThread;
  /** Fires when the job runs past its timeout (chained: a timeout may exceed 24.9 days). */
  timer?: LongTimer;
}

/** The last awaited outcome of a job, waiting for a slot. */
export interface Resume {
  holder: Running;
  callId: number;
  outcome: ChildOutcome;
}

/**
 * The jobs a worker runs, each on its thread. A thread's `jobs` (jobs placed on it) and
 * `working` (those of them holding a slot) are what placement reads: every job placed, moved,
 * given or freed of a slot, or forgotten goes through here, so the counts stay true.
 */
export class RunningJobs {
  private readonly byId = new Map<string, Running>();

  constructor(
    private readonly slots: Slots<JobRecord, Resume>,
    private readonly pool: ExecutorPool,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  get(jobId: string): Running | undefined {
    return this.byId.get(jobId);
  }

  has(jobId: string): boolean {
    return this.byId.has(jobId);
  }

  values(): Running[] {
    return [...this.byId.values()];
  }

  /** Places a job on `thread`, holding a slot; `timedOut` is called if it runs past its timeout. */
  add(job: JobRecord, thread: ExecutorThread, timedOut: (running: Running) => void): Running {
    const running: Running = { job, thread, slot: false, pending: 0 };
    this.byId.set(job.id, running);
    thread.jobs++;
    this.takeSlot(running);
    if (job.timeout !== null) {
      running.timer = longTimeout(job.timeout * 1000, () => timedOut(running), { ref: false });
    }
    return running;
  }

  takeSlot(running: Running): void {
    this.slots.take(running);
    running.thread.working++;
  }

  releaseSlot(running: Running): void {
    if (this.slots.release(running)) running.thread.working--;
  }

  /** Moves a job to another thread (its first refused it), with its slot if it holds one. */
  move(running: Running, next: ExecutorThread): void {
    running.thread.jobs--;
    if (running.slot) running.thread.working--;
    this.pool.settle(running.thread);
    running.thread = next;
    next.jobs++;
    if (running.slot) next.working++;
  }

  /** No longer counts a job as running here: frees its slot and its place on its thread. */
  remove(running: Running): void {
    running.timer?.clear();
    this.releaseSlot(running);
    running.thread.jobs--;
    this.byId.delete(running.job.id);
    this.pool.settle(running.thread);
  }
}

/** The error of an attempt that ran past its job's timeout. */
export function timeoutError(job: JobRecord): ErrorRecord {
  return toErrorRecord(
    new TimeoutError(
      `Job ${job.id} (${jobName(job)}) ran past its timeout of ${job.timeout}s on attempt ${job.attempt} of ${job.maxAttempts}`,
    ),
  );
}
