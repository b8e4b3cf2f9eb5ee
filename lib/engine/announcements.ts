import type { Clock, ClockTimer } from '../clock.js';
import type { JobRecord } from '../types.js';
import type { Hub } from './hub.js';
import { notifyObservers, type CoordinatorObserver } from './observer.js';

/**
 * What the Coordinator tells its Hub and observers once a change is committed: jobs queued
 * (now or at their due time), canceled, or whose end frees a concurrency key's slot.
 */
export class Announcements {
  private readonly timers = new Set<ClockTimer>();

  constructor(
    readonly hub: Hub,
    readonly clock: Clock,
    private readonly observers: readonly CoordinatorObserver[],
  ) {}

  /**
   * `queued` for `job` (undefined: some job) once the clock has reached `dueAt`, at once when it
   * has. A timer that fires before `dueAt` by the clock's reading (Node's timers count whole
   * milliseconds of their own clock, and may fire a millisecond early by `Date.now()`) waits
   * again for the rest: a claim woken early would find the job not yet due, and nothing else
   * would wake it.
   */
  queuedAt(job: JobRecord | undefined, dueAt: number): void {
    const wait = dueAt - this.clock.now();
    if (wait <= 0) {
      this.hub.emit('queued', job);
      return;
    }
    // The clock's timers hold any length: a retry delay or a scheduled start may lie more than 24.9 days ahead.
    const timer = this.clock.timeout(wait, () => {
      this.timers.delete(timer);
      this.queuedAt(job, dueAt);
    });
    this.timers.add(timer);
  }

  canceled(canceled: readonly JobRecord[]): void {
    for (const c of canceled) {
      this.observe((o) => o.finished?.(c));
      this.hub.emit('canceled', c);
      this.hub.emit(`finished:${c.id}`, c);
    }
  }

  /** A job of a concurrency key stopped running: the jobs waiting on its key may be claimed now. */
  freedSlot(job: JobRecord): void {
    if (job.flowControl?.concurrency) this.hub.emit('queued');
  }

  observe(fn: (o: CoordinatorObserver) => void): void {
    notifyObservers(this.observers, fn);
  }

  /** Clears the timers of jobs due later. */
  close(): void {
    for (const t of this.timers) t.clear();
  }
}
