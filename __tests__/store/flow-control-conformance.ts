import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { ClaimRequest, Store } from '../../lib/store/store.js';
import type { FlowControl, JobRecord, JobSpec } from '../../lib/types.js';

/**
 * Flow control as every store must apply it in its claim (docs/flow-control.md): priority,
 * concurrency keys (running and windowed), rate keys and the result cache. Times that matter
 * are the store's own claim times, read back from the attempts; nothing here sleeps.
 */
export function flowControlConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Flow control conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const spec = (flowControl: FlowControl | undefined, over: Partial<JobSpec> = {}): JobSpec => ({
      kind: 'script',
      scriptPath: 'fc/script',
      scriptHash: 'h1',
      entrypoint: 'main',
      args: {},
      ...(flowControl && { flowControl }),
      ...over,
    });
    const claim = (limit: number, over: Partial<ClaimRequest> = {}) =>
      store.claim({ workerId: 'w', tags: 'all', limit, leaseMs: 30_000, ...over });

    it('claims by priority, then age', async () => {
      const ids: Record<string, string> = {};
      for (const [label, priority] of [
        ['a0', 0],
        ['b5', 5],
        ['c10', 10],
        ['d5', 5],
        ['e0', 0],
        ['f-1', -1],
      ] as const) {
        ids[label] = (await store.enqueue(spec({ priority }))).job.id;
      }
      const order: string[] = [];
      for (let i = 0; i < 6; i++) {
        const [job] = await claim(1);
        order.push(Object.keys(ids).find((k) => ids[k] === job.id)!);
      }
      expect(order).toEqual(['c10', 'b5', 'd5', 'a0', 'e0', 'f-1']);
      expect((await store.get(ids.c10))!.priority).toBe(10);
    });

    it('priority aging: a job due longer than the bound is claimed before any priority, oldest first', async () => {
      const now = Date.now();
      const minutes = (m: number) => now - m * 60_000;
      // The same queue in four tags: a fresh job of priority 10, and two low ones due 10 and
      // 20 minutes ago (one of them keyed, so that PostgreSQL's keyed claim orders it too).
      const queue = async (tag: string, key?: string) => {
        const high = (await store.enqueue(spec({ priority: 10 }, { tag }))).job.id;
        const low = (await store.enqueue(spec({ priority: 0 }, { tag, scheduledFor: minutes(10) }))).job.id;
        const lowest = (
          await store.enqueue(
            spec(
              { priority: -1, ...(key !== undefined && { concurrency: { key, limit: 5 } }) },
              { tag, scheduledFor: minutes(20) },
            ),
          )
        ).job.id;
        return { high, low, lowest };
      };
      const order = async (tag: string, over: Partial<ClaimRequest>, limit = 3) =>
        (await claim(limit, { tags: [tag], ...over })).map((j) => j.id);

      // Aging off: priority, then age.
      const off = await queue('off');
      expect(await order('off', { priorityAgingMs: Infinity })).toEqual([off.high, off.low, off.lowest]);
      // A bound of 5 minutes (the default): both low jobs waited longer; they go first, oldest first.
      const five = await queue('five');
      expect(await order('five', { priorityAgingMs: 5 * 60_000 })).toEqual([five.lowest, five.low, five.high]);
      const byDefault = await queue('default-bound');
      expect(await order('default-bound', {})).toEqual([byDefault.lowest, byDefault.low, byDefault.high]);
      // A bound of 15 minutes: only the job due 20 minutes ago is aged; then priority again.
      const fifteen = await queue('fifteen', 'aged-key');
      const one = async () => order('fifteen', { priorityAgingMs: 15 * 60_000 }, 1);
      expect([...(await one()), ...(await one()), ...(await one())]).toEqual([
        fifteen.lowest,
        fifteen.high,
        fifteen.low,
      ]);
      // The keyed path (a keyed job among the candidates) orders alike.
      const keyed = await queue('keyed', 'k');
      expect(await order('keyed', { priorityAgingMs: 15 * 60_000 })).toEqual([keyed.lowest, keyed.high, keyed.low]);
    });

    it('never runs more jobs of a concurrency key than its limit, and skips to the jobs behind', async () => {
      const a = { concurrency: { key: 'api:a', limit: 2 } };
      const aJobs: JobRecord[] = [];
      for (let i = 0; i < 4; i++) aJobs.push((await store.enqueue(spec(a))).job);
      const plain = (await store.enqueue(spec(undefined))).job;
      const b = (await store.enqueue(spec({ concurrency: { key: 'api:b', limit: 2 } }))).job;
      const first = await claim(10);
      expect(first.map((j) => j.id).sort()).toEqual([aJobs[0].id, aJobs[1].id, plain.id, b.id].sort());
      expect(await claim(10)).toEqual([]);
      expect(first.find((j) => j.id === aJobs[0].id)!.flowControl).toEqual(a);

      const summary = await store.queue('default');
      expect(summary.keys).toContainEqual({ kind: 'concurrency', key: 'api:a', queued: 2, running: 2, limit: 2 });
      expect(summary.tags).toEqual([{ tag: 'default', queued: 2, running: 4 }]);

      await store.finish(aJobs[0].id, { status: 'success', result: null }, Date.now());
      const next = await claim(10);
      expect(next.map((j) => j.id)).toEqual([aJobs[2].id]);
      await store.cancel(aJobs[1].id, { reason: 'test', by: 'test' });
      expect((await claim(10)).map((j) => j.id)).toEqual([aJobs[3].id]);
    });

    it('a window limit allows `limit` starts per window and defers the rest to when the window frees', async () => {
      const w = { concurrency: { key: 'win', limit: 2, windowMs: 60_000 } };
      const jobs: JobRecord[] = [];
      for (let i = 0; i < 3; i++) jobs.push((await store.enqueue(spec(w))).job);
      const deferred: number[] = [];
      const first = await claim(10, { onDeferred: (at) => deferred.push(at) });
      expect(first).toHaveLength(2);
      // Finished jobs still count: it is starts per window, not jobs at once.
      for (const j of first) await store.finish(j.id, { status: 'success', result: null }, Date.now());
      expect(await claim(10)).toEqual([]);
      const attempts = await store.attempts(first[0].id);
      const third = (await store.get(jobs[2].id))!;
      expect(third.status).toBe('queued');
      expect(third.scheduledFor).toBe(attempts[0].claimedAt + 60_000);
      expect(deferred[0]).toBe(third.scheduledFor);
    });

    it('a rate limit spreads starts out: one per `per / limit`, the next deferred to its time', async () => {
      const r = { rateLimit: { key: 'rate', limit: 5, perMs: 1000 } };
      const jobs: JobRecord[] = [];
      for (let i = 0; i < 3; i++) jobs.push((await store.enqueue(spec(r))).job);
      const first = await claim(10);
      expect(first).toHaveLength(1);
      const claimedAt = (await store.attempts(first[0].id))[0].claimedAt;
      for (const j of jobs.slice(1)) expect((await store.get(j.id))!.scheduledFor).toBe(claimedAt + 200);
      expect((await store.queue('default')).keys).toContainEqual({
        kind: 'rate',
        key: 'rate',
        queued: 2,
        running: 1,
        limit: 5,
        perMs: 1000,
        nextStart: claimedAt + 200,
      });
    });

    it('a cached call reuses an equal successful call within its TTL, and a changed script does not', async () => {
      const parent = (await store.enqueue(spec(undefined))).job;
      const child = (key: string, over: Partial<JobSpec> = {}) =>
        store.enqueue(
          spec(
            { cacheTtlMs: 60_000 },
            { kind: 'task', entrypoint: 'work', args: [1, 'x'], parentJob: parent.id, callKey: key, ...over },
          ),
        );
      const first = (await child('work:0')).job;
      expect(first.status).toBe('queued');
      const [running] = await claim(10, { rootJobs: new Set([parent.id]) });
      expect([parent.id, first.id]).toContain(running.id);
      // It ended 10 s ago: within a TTL of 60 s, past one of 5 s.
      await store.finish(first.id, { status: 'success', result: { n: 42 } }, Date.now() - 10_000);

      const { job: second, created } = await child('work:1');
      expect(created).toBe(true);
      expect(second).toMatchObject({
        status: 'success',
        result: { n: 42 },
        cachedFrom: first.id,
        flowControl: { cacheTtlMs: 60_000 },
      });
      // Other args, another script version: no reuse.
      expect((await child('work:2', { args: [2, 'x'] })).job.status).toBe('queued');
      expect((await child('work:3', { scriptHash: 'h2' })).job.status).toBe('queued');
      // Past the TTL: no reuse.
      expect((await child('work:4', { flowControl: { cacheTtlMs: 5_000 } })).job).toMatchObject({
        status: 'queued',
        cachedFrom: null,
      });
    });
  });
}
