/**
 * Whether a worker runs nothing and owes no report of an end: what a drain waits for. The
 * worker tells it of each end it is recording (`track`) and of each job it stops counting
 * (`check`); `idle()` resolves once no job runs and every end is recorded.
 */
export class IdleWatch {
  private readonly ends = new Set<Promise<void>>();
  private waiters: (() => void)[] = [];

  constructor(private readonly nothingRuns: () => boolean) {}

  /** An end being recorded; idle waits for it. Returns it. */
  track(end: Promise<void>): Promise<void> {
    const tracked = end.finally(() => {
      this.ends.delete(tracked);
      this.check();
    });
    this.ends.add(tracked);
    return tracked;
  }

  /**
   * Resolves the waiters if the worker is idle. Looked at a microtask later: the worker forgets a
   * job that has returned just before it starts recording its end, in the same turn.
   */
  check(): void {
    queueMicrotask(() => {
      if (this.ends.size === 0 && this.nothingRuns()) for (const resolve of this.waiters.splice(0)) resolve();
    });
  }

  idle(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.check();
    });
  }
}
