/**
 * Timers for durations a user chose. Node's `setTimeout` holds a signed 32-bit count of
 * milliseconds: a delay of 2^31 ms (about 24.9 days) or more fires at once (with a
 * TimeoutOverflowWarning). A timeout, a retry delay or a sleep that long must wait instead,
 * so long delays are chained: each link waits at most `MAX_TIMER_MS`.
 */

/** The longest delay one `setTimeout` honours. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer that can be cleared, whatever its length. */
export interface LongTimer {
  clear(): void;
}

export interface LongTimeoutOptions {
  /** Keep the process alive while the timer waits. @default true */
  ref?: boolean;
  /** The timer functions to use (a test passes fake ones). @default globalThis's */
  clock?: TimerClock;
}

/** The two functions of a clock that `longTimeout` uses. */
export interface TimerClock {
  setTimeout(fn: () => void, ms: number): { unref?(): unknown };
  clearTimeout(handle: unknown): void;
}

/** Calls `fn` once, after `ms` milliseconds (any finite length; Infinity never fires). */
export function longTimeout(ms: number, fn: () => void, options: LongTimeoutOptions = {}): LongTimer {
  const clock = options.clock ?? (globalThis as unknown as TimerClock);
  let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
  let handle: { unref?(): unknown } | undefined;
  let cleared = false;
  const arm = () => {
    if (left === Infinity) return;
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    handle = clock.setTimeout(() => {
      if (cleared) return;
      if (left > 0) arm();
      else fn();
    }, step);
    if (options.ref === false) handle.unref?.();
  };
  arm();
  return {
    clear() {
      cleared = true;
      if (handle !== undefined) clock.clearTimeout(handle);
    },
  };
}

/** Resolves after `ms` milliseconds (any length). */
export function delay(ms: number, options: LongTimeoutOptions = {}): Promise<void> {
  return new Promise((resolve) => longTimeout(ms, resolve, options));
}
