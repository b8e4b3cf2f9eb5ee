import { afterEach, describe, expect, it } from '@jest/globals';
import type { ClockTimer } from '../lib/clock.js';
import { Coordinator } from '../lib/engine/coordinator.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { TestClock } from '../lib/testing/test-clock.js';
import type { JobSpec } from '../lib/types.js';

/**
 * A job due later is announced when its time comes, by a timer of the engine's clock. Node's
 * timers count whole milliseconds of their own clock, and may fire a millisecond before
 * `Date.now()` says the time has come: a claim woken then finds the job not yet due, and
 * nothing else would wake it again. The clock here fires every timer a millisecond early.
 */
class EarlyClock extends TestClock {
  override timeout(ms: number, fn: () => void): ClockTimer {
    return super.timeout(ms > 1 ? ms - 1 : ms, fn);
  }
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup() {
  const clock = new EarlyClock(1_000_000);
  const store = new SqliteStore({ file: ':memory:', clock });
  const coordinator = new Coordinator(store, { clock, sweepIntervalMs: 3_600_000 });
  const stop = new AbortController();
  closers.push(async () => {
    stop.abort();
    await coordinator.close();
    await store.close();
  });
  const spec = (extra: Partial<JobSpec> = {}): JobSpec => ({
    kind: 'task',
    scriptPath: 's',
    scriptHash: 'h',
    entrypoint: 'e',
    args: [],
    ...extra,
  });
  const claim = () => coordinator.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60_000 }, stop.signal);
  return { clock, store, coordinator, spec, claim };
}

describe('jobs due later', () => {
  it('a timer that fires before the due time waits again, and the job is claimed when it is due', async () => {
    const { clock, coordinator, spec, claim } = setup();
    const start = clock.now();
    const job = await coordinator.submit(spec({ delayMs: 1_000 }));
    expect(job.scheduledFor).toBe(start + 1_000);
    const claimed = claim();
    clock.moveTo(start + 999);
    // The early timer found the job not due: another one waits for the rest.
    expect(clock.nextDue()).toBe(start + 1_000);
    clock.moveTo(start + 1_000);
    expect((await claimed).map((j) => j.id)).toEqual([job.id]);
  });

  it("a retry is due a backoff after the engine heard of the failure, by the engine's clock, whatever the worker's stamp", async () => {
    const { clock, coordinator, store, spec, claim } = setup();
    const start = clock.now();
    const job = await coordinator.submit(spec({ retry: { attempts: 2, delay: 1, multiplier: 1 } }));
    expect((await claim()).map((j) => j.id)).toEqual([job.id]);
    // The worker's clock is 500 ms ahead: its stamp is the attempt's recorded end, not the backoff's start.
    await coordinator.finish(job.id, { status: 'failure', error: { name: 'Error', message: 'no' } }, start + 500);
    expect(await store.attempts(job.id)).toMatchObject([{ attempt: 1, status: 'failure', completedAt: start + 500 }]);
    expect((await store.get(job.id))!.scheduledFor).toBe(start + 1_000);
    const claimed = claim();
    clock.moveTo(start + 999);
    expect(clock.nextDue()).toBe(start + 1_000);
    clock.moveTo(start + 1_000);
    const [again] = await claimed;
    expect(again).toMatchObject({ id: job.id, attempt: 2 });
  });
});
