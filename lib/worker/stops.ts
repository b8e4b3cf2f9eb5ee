import type { ExecutorThread } from './pool.js';

/**
 * Jobs a worker stopped (canceled, timed out, lease lost) whose code has not returned yet.
 * Each gets a grace period to unwind after its signal aborts; a job still running after it
 * costs its thread, which is replaced (see "A stopped job gets a grace period" in
 * docs/architecture.md): a parent awaiting children unwinds by itself, and the other jobs
 * on its thread keep running.
 */
export class Stops {
  private readonly stopping = new Map<string, { thread: ExecutorThread; grace: NodeJS.Timeout }>();

  constructor(private readonly graceMs: number) {}

  /** Starts the grace period of a stopped job; `expired` runs if its code has not returned by then. */
  add(jobId: string, thread: ExecutorThread, expired: () => void): void {
    const grace = setTimeout(() => {
      this.stopping.delete(jobId);
      expired();
    }, this.graceMs);
    grace.unref();
    this.stopping.set(jobId, { thread, grace });
  }

  /** The job's code returned (or its thread is gone): no replacement. False when it was not stopping. */
  settle(jobId: string): boolean {
    const stopped = this.stopping.get(jobId);
    if (!stopped) return false;
    clearTimeout(stopped.grace);
    this.stopping.delete(jobId);
    return true;
  }

  /** A thread is gone: the jobs stopping on it need no replacement of it. */
  settleThread(thread: ExecutorThread): void {
    for (const [jobId, stopped] of this.stopping) if (stopped.thread === thread) this.settle(jobId);
  }

  close(): void {
    for (const { grace } of this.stopping.values()) clearTimeout(grace);
  }
}
