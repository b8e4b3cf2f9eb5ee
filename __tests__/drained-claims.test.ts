import { afterEach, describe, expect, it } from '@jest/globals';
import { Coordinator } from '../lib/engine/coordinator.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { ClaimRequest } from '../lib/store/store.js';
import type { JobSpec } from '../lib/types.js';

/**
 * A worker whose claim took fewer jobs than it asked for has taken all there was: its next
 * claim waits without looking at the store until a job is queued (engine/drained-claims.ts).
 * The store's claims are counted; a claim that looks does so before its first await, so the
 * count right after the call says whether it looked.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup(options: { externalWritersPollMs?: number } = {}) {
  const store = new SqliteStore({ file: ':memory:' });
  let looks = 0;
  const claim = store.claim.bind(store);
  store.claim = (request) => {
    looks++;
    return claim(request);
  };
  const coordinator = new Coordinator(store, { sweepIntervalMs: 3_600_000, ...options });
  const stop = new AbortController();
  closers.push(async () => {
    stop.abort();
    await coordinator.close();
    await store.close();
  });
  const spec = (n: number): JobSpec => ({
    kind: 'task',
    scriptPath: 's',
    scriptHash: 'h',
    entrypoint: 'e',
    args: [n],
  });
  const request = (limit: number, workerId = 'w1'): ClaimRequest => ({ workerId, tags: 'all', limit, leaseMs: 30_000 });
  return {
    looks: () => looks,
    submit: (n: number) => coordinator.submit(spec(n)),
    claim: (limit: number, workerId?: string) => coordinator.claim(request(limit, workerId), stop.signal),
  };
}

describe('claims after the queue was drained', () => {
  it('wait without looking until a job is queued, then take it', async () => {
    const c = setup();
    const first = await c.submit(1);
    expect((await c.claim(5)).map((j) => j.id)).toEqual([first.id]);
    expect(c.looks()).toBe(1);
    // Fewer than asked for: the next claim waits without a look.
    const next = c.claim(5);
    expect(c.looks()).toBe(1);
    const second = await c.submit(2);
    expect((await next).map((j) => j.id)).toEqual([second.id]);
    expect(c.looks()).toBe(2);
  });

  it('look at once after a claim that took as many as it asked for, and for another worker', async () => {
    const c = setup();
    const jobs = [await c.submit(1), await c.submit(2)];
    expect((await c.claim(1)).map((j) => j.id)).toEqual([jobs[0].id]);
    expect((await c.claim(1)).map((j) => j.id)).toEqual([jobs[1].id]);
    expect(c.looks()).toBe(2);
    // The last claim took as many as it asked for: the next one looks (and finds nothing).
    const w1 = c.claim(1);
    expect(c.looks()).toBe(3);
    // A worker that never looked, looks.
    const w2 = c.claim(1, 'w2');
    expect(c.looks()).toBe(4);
    const third = await c.submit(3);
    expect((await Promise.race([w1, w2])).map((j) => j.id)).toEqual([third.id]);
  });

  it('a job queued between the look and the wait is not missed', async () => {
    const c = setup();
    await c.submit(1);
    await c.claim(5);
    // Queued after the drained look: the mark moved, so the next claim looks and finds it.
    const queued = await c.submit(2);
    const next = c.claim(5);
    expect(c.looks()).toBe(2);
    expect((await next).map((j) => j.id)).toEqual([queued.id]);
  });

  it('always look when other processes write the store unheard (externalWritersPollMs)', async () => {
    const c = setup({ externalWritersPollMs: 3_600_000 });
    await c.submit(1);
    await c.claim(5);
    // Drained, but another process may have queued a job this one never heard of.
    void c.claim(5);
    expect(c.looks()).toBe(2);
  });
});
