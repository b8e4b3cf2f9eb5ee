import { describe, expect, test } from '@jest/globals';
import { testEngine } from '../lib/testing.js';
import { TestClock } from '../lib/testing/test-clock.js';
import { durationMs } from '../lib/testing/duration.js';
import { ConfigError } from '../lib/errors.js';
import { Coordinator } from '../lib/engine/coordinator.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { decode } from '../lib/serialize.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';

const DAY = 86_400_000;

describe('TestClock', () => {
  test('fires one-shot timers in time order as it moves, and nothing before', () => {
    const clock = new TestClock(1000);
    const fired: string[] = [];
    clock.timeout(300, () => fired.push('c'));
    clock.timeout(100, () => fired.push('a'));
    clock.timeout(200, () => fired.push('b'));
    const cleared = clock.timeout(150, () => fired.push('never'));
    cleared.clear();
    clock.moveTo(1099);
    expect(fired).toEqual([]);
    expect(clock.nextDue()).toBe(1100);
    clock.moveTo(1250);
    expect(fired).toEqual(['a', 'b']);
    clock.moveTo(5000);
    expect(fired).toEqual(['a', 'b', 'c']);
    expect(clock.now()).toBe(5000);
    expect(clock.nextDue()).toBeUndefined();
  });

  test('an interval fires once per move however many periods it passed, and never sets a step', () => {
    const clock = new TestClock(0);
    let n = 0;
    clock.interval(10, () => n++);
    expect(clock.nextDue()).toBeUndefined();
    clock.moveTo(1_000_000);
    expect(n).toBe(1);
    clock.moveTo(1_000_005);
    expect(n).toBe(1);
    clock.moveTo(1_000_010);
    expect(n).toBe(2);
  });

  test('never goes backwards', () => {
    const clock = new TestClock(500);
    clock.moveTo(100);
    expect(clock.now()).toBe(500);
  });
});

describe('durations', () => {
  test.each([
    ['3d', 3 * DAY],
    ['1h30m', 90 * 60_000],
    ['90s', 90_000],
    ['250ms', 250],
    ['2w', 14 * DAY],
    [1234, 1234],
  ])('%p is %p ms', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });

  test.each(['3 days', '', '-1d', 'd3', -5, Number.NaN])(
    '%p is refused with a ConfigError saying what is expected',
    (bad) => {
      expect(() => durationMs(bad)).toThrow(ConfigError);
      expect(() => durationMs(bad)).toThrow(/expected a number of milliseconds ≥ 0 or a text such as '3d'/);
    },
  );
});

describe('testEngine', () => {
  test("a workflow that sleeps three days completes under advance('3d') in under a second of wall time", async () => {
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, concurrency: 2 });
    const startedAt = t.now();
    const job = await t.submit({ path: 'examples/reminder', args: { who: 'ada' } });
    // The run reaches its sleep: nothing more happens until the clock moves.
    await t.settled();
    const sleeping = (await t.engine.descendants(job.id)).find((d) => d.kind === 'sleep')!;
    expect(sleeping.status).toBe('queued');
    expect(sleeping.scheduledFor).toBe(startedAt + 3 * DAY);
    expect((await t.engine.get(job.id))!.status).toBe('running');

    // A day short, it still sleeps.
    await t.advance('2d23h');
    expect((await t.engine.get(job.id))!.status).toBe('running');

    const wall = performance.now();
    await t.advance('1h');
    const elapsed = performance.now() - wall;
    const done = (await t.engine.get(job.id))!;
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe('reminded ada');
    expect(elapsed).toBeLessThan(1000);
    // Its times are the engine's: the run ended three days after it began.
    expect(done.completedAt! - done.createdAt).toBeGreaterThanOrEqual(3 * DAY);
    expect(t.now()).toBe(startedAt + 3 * DAY);
  });

  test("a cron schedule '0 9 * * 1-5' fires five times across an advanced week, each slot once", async () => {
    // Sunday 2026-01-04 00:00 UTC.
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, concurrency: 2, start: '2026-01-04T00:00:00Z' });
    const created = await t.schedules.create({
      name: 'weekday-9',
      path: '__tests__/fixtures/tick',
      cron: '0 9 * * 1-5',
      args: { label: 'morning' },
    });
    expect(new Date(created.nextSlot!).toISOString()).toBe('2026-01-05T09:00:00.000Z');
    await t.advance('7d');
    const [view] = await t.schedules.list();
    const runs = await t.engine.store.scheduleRuns(view, 100);
    expect(runs).toHaveLength(5);
    expect(runs.every((r) => r.status === 'success' && decode(r.result!) === 'morning')).toBe(true);
    // One run per weekday at 09:00, created at its slot.
    expect(runs.map((r) => new Date(r.createdAt).toISOString()).sort()).toEqual([
      '2026-01-05T09:00:00.000Z',
      '2026-01-06T09:00:00.000Z',
      '2026-01-07T09:00:00.000Z',
      '2026-01-08T09:00:00.000Z',
      '2026-01-09T09:00:00.000Z',
    ]);
    expect(new Date(view.lastSlot!).toISOString()).toBe('2026-01-09T09:00:00.000Z');
    expect(new Date(view.nextSlot!).toISOString()).toBe('2026-01-12T09:00:00.000Z');
  });

  test('a cron reads in its time zone', async () => {
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, start: '2026-07-01T00:00:00Z' });
    const s = await t.schedules.create({
      path: '__tests__/fixtures/tick',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    });
    // 09:00 in Paris in summer is 07:00 UTC.
    expect(new Date(s.nextSlot!).toISOString()).toBe('2026-07-01T07:00:00.000Z');
    expect(s.name).toBe('__tests__/fixtures/tick');
  });

  test('pause stops the slots; resume goes on from the next slot, without the ones missed while paused', async () => {
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, start: '2026-01-01T00:00:00Z' });
    await t.schedules.create({ name: 'hourly', path: '__tests__/fixtures/tick', cron: '0 * * * *' });
    const runs = async () => t.engine.store.scheduleRuns(await t.schedules.get('hourly'), 1000);
    await t.advance('3h');
    expect(await runs()).toHaveLength(3);
    await t.schedules.setPaused('hourly', true);
    expect((await t.schedules.get('hourly')).nextSlot).toBeNull();
    await t.advance('5h');
    expect(await runs()).toHaveLength(3);
    await t.schedules.setPaused('hourly', false);
    await t.settled();
    // Nothing of the paused hours runs on resume.
    expect(await runs()).toHaveLength(3);
    await t.advance('2h');
    const after = await runs();
    expect(after).toHaveLength(5);
    expect(
      after
        .map((r) => new Date(r.createdAt).toISOString())
        .sort()
        .slice(3),
    ).toEqual(['2026-01-01T09:00:00.000Z', '2026-01-01T10:00:00.000Z']);
  });
});

describe('slots missed while no engine ran', () => {
  test('a restart runs the latest missed slot once, then goes on; the slots in between never run', async () => {
    const db = tempDb();
    const hourly = { name: 'hourly', path: '__tests__/fixtures/tick', cron: '0 * * * *' };
    {
      await using first = await testEngine({ root: REPO_ROOT, threads: 1, db, start: '2026-01-01T00:00:00Z' });
      await first.schedules.create(hourly);
      await first.advance('2h30m');
    }
    // Everything is down from 02:30 to 05:40: the slots of 03:00, 04:00 and 05:00 are missed.
    {
      await using second = await testEngine({ root: REPO_ROOT, threads: 1, db, start: '2026-01-01T05:40:00Z' });
      await second.settled();
      const slotsRun = async () =>
        (await second.engine.store.scheduleRuns(await second.schedules.get('hourly'), 100))
          .map((r) => new Date(r.createdAt).toISOString())
          .sort();
      // 05:00 ran once, at the start (at 05:40).
      expect(await slotsRun()).toEqual([
        '2026-01-01T01:00:00.000Z',
        '2026-01-01T02:00:00.000Z',
        '2026-01-01T05:40:00.000Z',
      ]);
      const view = await second.schedules.get('hourly');
      expect(new Date(view.lastSlot!).toISOString()).toBe('2026-01-01T05:00:00.000Z');
      const runs = await second.engine.store.scheduleRuns(view, 100);
      expect(
        runs
          .map((r) => r.idempotencyKey!.split(':')[2])
          .map(Number)
          .sort(),
      ).toEqual(['01:00', '02:00', '05:00'].map((h) => Date.parse(`2026-01-01T${h}:00.000Z`)));
      await second.advance('1h');
      expect(await slotsRun()).toHaveLength(4);
      expect(new Date((await second.schedules.get('hourly')).lastSlot!).toISOString()).toBe('2026-01-01T06:00:00.000Z');
    }
    // A second restart within the same hour finds nothing missed.
    {
      await using third = await testEngine({ root: REPO_ROOT, threads: 1, db, start: '2026-01-01T06:20:00Z' });
      await third.settled();
      expect(await third.engine.store.scheduleRuns(await third.schedules.get('hourly'), 100)).toHaveLength(4);
    }
  });
});

describe('what follows the clock besides sleeps', () => {
  test("a retry's backoff of an hour passes under advance('1h')", async () => {
    await using t = await testEngine({ root: REPO_ROOT, threads: 1, concurrency: 2 });
    const job = await t.submit({ path: '__tests__/fixtures/hour-retry' });
    await t.settled();
    const [flaky] = await t.engine.descendants(job.id);
    expect(flaky).toMatchObject({ status: 'queued', attempt: 1 });
    expect(flaky.scheduledFor).toBe(t.now() + 3_600_000);
    await t.advance('59m');
    expect((await t.engine.get(flaky.id))!.status).toBe('queued');
    await t.advance('1m');
    const done = (await t.engine.get(job.id))!;
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe('ok on attempt 2');
  });

  test('a lease runs out when the clock passes its end, and the sweep requeues the job', async () => {
    const clock = new TestClock(1_000_000);
    const store = new SqliteStore({ file: ':memory:', clock });
    const coordinator = new Coordinator(store, { clock, sweepIntervalMs: 5000 });
    try {
      const job = await coordinator.submit({
        kind: 'script',
        scriptPath: 'examples/heavy',
        scriptHash: 'abc',
        entrypoint: 'main',
        args: {},
      });
      const [claimed] = await store.claim({ workerId: 'gone', tags: 'all', limit: 1, leaseMs: 30_000 });
      expect(claimed.id).toBe(job.id);
      const requeued = new Promise<void>((resolve) => coordinator.onQueued((j) => j?.id === job.id && resolve()));
      // The first sweep runs at the first move and arms the next, 5 s later; 29 s on, the lease still holds.
      clock.moveTo(1_029_000);
      await new Promise((r) => setImmediate(r));
      await store.expireLeases(clock.now(), 3).then((r) => expect(r.requeued).toEqual([]));
      expect((await store.get(job.id))!.status).toBe('running');
      // The next sweep, at 1_034_000, finds it past its end (1_030_000).
      clock.moveTo(1_034_000);
      await requeued;
      expect(await store.get(job.id)).toMatchObject({ status: 'queued', scheduledFor: 1_034_000 });
      expect((await store.attempts(job.id))[0]).toMatchObject({
        status: 'failure',
        completedAt: 1_034_000,
        error: { code: 'LEASE_EXPIRED' },
      });
    } finally {
      await coordinator.close();
      await store.close();
    }
  });
});
