import { describe, expect, it } from '@jest/globals';
import { delay, longTimeout, MAX_TIMER_MS, type TimerClock } from '../lib/timers.js';

/** A clock the test moves: timers fire when `advance` passes their due time. */
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const delays: number[] = [];
  const clock: TimerClock = {
    setTimeout(fn, ms) {
      // What Node does with a delay it cannot hold: fire at once (after 1 ms).
      const wait = ms > MAX_TIMER_MS || ms < 1 ? 1 : ms;
      delays.push(ms);
      const id = nextId++;
      timers.set(id, { at: now + wait, fn });
      return { id } as unknown as { unref?(): unknown };
    },
    clearTimeout(handle) {
      timers.delete((handle as unknown as { id: number }).id);
    },
  };
  return {
    clock,
    delays,
    pending: () => timers.size,
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
  };
}

const DAY = 24 * 3600 * 1000;

describe('longTimeout', () => {
  it('waits 30 days in links no longer than setTimeout holds, and fires once, at the end', () => {
    const c = fakeClock();
    let fired = 0;
    longTimeout(30 * DAY, () => fired++, { clock: c.clock });
    c.advance(30 * DAY - 1);
    expect(fired).toBe(0);
    c.advance(1);
    expect(fired).toBe(1);
    expect(c.delays.every((d) => d <= MAX_TIMER_MS)).toBe(true);
    expect(c.delays).toEqual([MAX_TIMER_MS, 30 * DAY - MAX_TIMER_MS]);
    c.advance(60 * DAY);
    expect(fired).toBe(1);
  });

  it('a timeout of 2,200,000 s does not fire before its time (it would, as one setTimeout)', () => {
    const c = fakeClock();
    let plain = 0;
    c.clock.setTimeout(() => plain++, 2_200_000_000);
    let chained = 0;
    longTimeout(2_200_000_000, () => chained++, { clock: c.clock });
    c.advance(1000);
    expect(plain).toBe(1);
    expect(chained).toBe(0);
    c.advance(2_200_000_000);
    expect(chained).toBe(1);
  });

  it('clears at any link', () => {
    const c = fakeClock();
    let fired = 0;
    const timer = longTimeout(60 * DAY, () => fired++, { clock: c.clock });
    c.advance(MAX_TIMER_MS + 5);
    timer.clear();
    expect(c.pending()).toBe(0);
    c.advance(60 * DAY);
    expect(fired).toBe(0);
  });

  it('a short delay is one setTimeout; Infinity never fires; NaN and negatives fire at once', async () => {
    const c = fakeClock();
    const seen: string[] = [];
    longTimeout(5, () => seen.push('5'), { clock: c.clock });
    longTimeout(Infinity, () => seen.push('inf'), { clock: c.clock });
    longTimeout(Number.NaN, () => seen.push('nan'), { clock: c.clock });
    longTimeout(-3, () => seen.push('neg'), { clock: c.clock });
    c.advance(100 * DAY);
    expect(seen.sort()).toEqual(['5', 'nan', 'neg']);
    // On the real clock too.
    await delay(1);
  });
});
