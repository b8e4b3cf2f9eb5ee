/**
 * The engine's notion of time. Everything that is due at a stored time (a sleep's or a
 * retry's `scheduled_for`, a lease's end, a schedule's next slot) reads `now()` and waits
 * with `timeout()` of one Clock, so that a test can move that time (millrace/testing's
 * TestClock) instead of waiting for it. Code in executor threads (task bodies) and
 * durations that are not the engine's time (a job's timeout, HTTP retries, heartbeats)
 * keep real time.
 */
import { longTimeout } from './timers.js';

/** A timer that can be cleared. */
export interface ClockTimer {
  clear(): void;
}

export interface Clock {
  /** Milliseconds since the epoch, as the engine sees them. */
  now(): number;
  /** Calls `fn` once, when the clock has passed `now() + ms` (any length). Never keeps the process alive. */
  timeout(ms: number, fn: () => void): ClockTimer;
  /**
   * Calls `fn` every `ms`. Never keeps the process alive. A clock that jumps (a test's)
   * calls it at most once per jump, as a busy event loop would.
   */
  interval(ms: number, fn: () => void): ClockTimer;
}

/** The wall clock: Date.now and Node's timers. The default everywhere. */
export const realClock: Clock = {
  now: () => Date.now(),
  timeout: (ms, fn) => longTimeout(ms, fn, { ref: false }),
  interval(ms, fn) {
    const handle = setInterval(fn, ms);
    handle.unref();
    return { clear: () => clearInterval(handle) };
  },
};
