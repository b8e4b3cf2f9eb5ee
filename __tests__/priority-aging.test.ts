import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { Coordinator } from '../lib/engine/coordinator.js';
import { ConfigError } from '../lib/errors.js';
import { PgStore } from '../lib/store/postgres/pg-store.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../lib/store/store.js';
import { TestClock } from '../lib/testing/test-clock.js';
import type { JobSpec } from '../lib/types.js';
import { dropSchemas, freshSchema, testPgUrl } from './helpers/pg.js';

/**
 * Priority aging (docs/flow-control.md#priority) through a Coordinator, as a worker with one
 * slot meets it: a low-priority job queued, and a stream of higher-priority ones that never
 * runs dry. The test is the worker: it claims one job at a time, finishes it, submits the next
 * high one, and moves the engine's clock 10 s per job (millrace/testing's TestClock). Nothing
 * waits on real time.
 */

const START = Date.parse('2026-12-01T12:00:00Z');
const STEP_MS = 10_000;
const schemas: string[] = [];
afterAll(() => dropSchemas(schemas));

const stores: Record<string, (clock: TestClock) => Promise<Store>> = {
  sqlite: async (clock) => new SqliteStore({ file: ':memory:', clock }),
  postgres: async (clock) => {
    const schema = freshSchema('aging');
    schemas.push(schema);
    return PgStore.open({ url: testPgUrl(), poolSize: 2, schema, clock });
  },
};

const spec = (label: string, priority: number): JobSpec => ({
  kind: 'script',
  scriptPath: `aging/${label}`,
  scriptHash: 'h',
  entrypoint: 'main',
  args: {},
  flowControl: { priority },
});

let open: { coordinator: Coordinator; store: Store } | undefined;
afterEach(async () => {
  await open?.coordinator.close();
  await open?.store.close();
  open = undefined;
});

/**
 * Runs the stream: `low` and two `high` jobs queued at the start, then per claim one more high
 * job, until `low` is claimed or `maxClaims` have been. Returns the clock's time at each claim
 * and what was claimed.
 */
async function stream(
  makeStore: (clock: TestClock) => Promise<Store>,
  priorityAgingMs: number | undefined,
  maxClaims: number,
): Promise<{ at: number; label: string }[]> {
  const clock = new TestClock(START);
  const store = await makeStore(clock);
  const coordinator = new Coordinator(store, { clock, ...(priorityAgingMs !== undefined && { priorityAgingMs }) });
  open = { coordinator, store };
  await coordinator.submit(spec('low', 0));
  let n = 0;
  const high = () => coordinator.submit(spec(`high-${n++}`, 5));
  await high();
  await high();
  const claims: { at: number; label: string }[] = [];
  const signal = new AbortController().signal;
  while (claims.length < maxClaims) {
    const [job] = await coordinator.claim({ workerId: 'one-slot', tags: 'all', limit: 1, leaseMs: 3_600_000 }, signal);
    claims.push({ at: clock.now(), label: job.scriptPath.slice('aging/'.length) });
    await coordinator.finish(job.id, { status: 'success', result: null }, clock.now());
    if (job.scriptPath === 'aging/low') break;
    await high();
    clock.moveTo(clock.now() + STEP_MS);
  }
  return claims;
}

describe.each(Object.keys(stores))('priority aging (%s)', (name) => {
  const makeStore = stores[name];

  it('a low-priority job starts next once it has waited past the bound, though higher ones keep coming', async () => {
    const claims = await stream(makeStore, 60_000, 30);
    const low = claims.findIndex((c) => c.label === 'low');
    // Before the bound, every claim took a higher-priority job, oldest first…
    expect(claims.slice(0, low).map((c) => c.label)).toEqual([
      'high-0',
      'high-1',
      'high-2',
      'high-3',
      'high-4',
      'high-5',
    ]);
    expect(claims.slice(0, low).every((c) => c.at < START + 60_000)).toBe(true);
    // …and the first claim at or past it took the low one, with two higher ones queued beside it.
    expect(claims[low].at).toBe(START + 60_000);
  });

  it('without aging, the stream starves the low-priority job', async () => {
    const claims = await stream(makeStore, Infinity, 30);
    expect(claims).toHaveLength(30);
    expect(claims.map((c) => c.label)).not.toContain('low');
  });

  it('the default bound is 5 minutes', async () => {
    const claims = await stream(makeStore, undefined, 60);
    expect(claims.at(-1)).toEqual({ at: START + 300_000, label: 'low' });
    expect(claims.filter((c) => c.label !== 'low').every((c) => c.at < START + 300_000)).toBe(true);
  });
});

describe('priorityAgingMs', () => {
  it('refuses a negative or non-numeric bound with a ConfigError naming it', async () => {
    const store = new SqliteStore({ file: ':memory:' });
    try {
      for (const bad of [-1, Number.NaN, '5m']) {
        expect(() => new Coordinator(store, { priorityAgingMs: bad as number })).toThrow(ConfigError);
      }
      expect(() => new Coordinator(store, { priorityAgingMs: -1 })).toThrow(
        /priorityAgingMs must be a number of milliseconds ≥ 0 \(Infinity: no aging\), got number -1/,
      );
    } finally {
      await store.close();
    }
  });
});
