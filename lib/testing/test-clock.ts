import type { Clock, ClockTimer } from '../clock.js';

interface Pending {
  /** When it is due, in the clock's time. */
  at: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  seq: number;
  fn: () => void;
  /** An interval's period; undefined for a one-shot timer. */
  every?: number;
  cleared: boolean;
}

/**
 * A clock that moves only when told. `timeout` timers fire in time order as `moveTo` passes
 * them; `interval` timers fire at most once per move (their missed periods are skipped),
 * so that a sweep every 5 s does not turn a three-day jump into 50,000 sweeps.
 */
export class TestClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Set<Pending>();

  constructor(start: number = Date.now()) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  timeout(ms: number, fn: () => void): ClockTimer {
    return this.add({ at: this.current + Math.max(0, Number.isNaN(ms) ? 0 : ms), seq: this.seq++, fn, cleared: false });
  }

  interval(ms: number, fn: () => void): ClockTimer {
    return this.add({ at: this.current + ms, seq: this.seq++, fn, every: Math.max(1, ms), cleared: false });
  }

  /** When the next one-shot timer is due, or undefined when none waits. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const t of this.timers) if (t.every === undefined && (next === undefined || t.at < next)) next = t.at;
    return next;
  }

  /** Sets the time to `at` (never backwards), firing nothing yet. */
  set(at: number): void {
    if (at > this.current) this.current = at;
  }

  /** Sets the time to `at` and fires what is due by then (see fireDue). */
  moveTo(at: number): number {
    this.set(at);
    return this.fireDue();
  }

  /**
   * Fires, in time order, every timer due by now: one-shot timers once, intervals once each.
   * Returns how many fired.
   */
  fireDue(): number {
    const due = [...this.timers].filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const t of due) {
      if (t.cleared) continue;
      if (t.every === undefined) this.timers.delete(t);
      else t.at = this.current + t.every;
      t.fn();
    }
    return due.length;
  }

  private add(timer: Pending): ClockTimer {
    this.timers.add(timer);
    return {
      clear: () => {
        timer.cleared = true;
        this.timers.delete(timer);
      },
    };
  }
}
