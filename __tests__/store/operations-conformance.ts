import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Store } from '../../lib/store/store.js';
import type { JobRecord, JobSpec } from '../../lib/types.js';

/**
 * The operations verbs (countLive, schemaState, progress, pruneRuns), for every Store: run next
 * to storeConformance by each store's test file. `makeStore` returns a fresh, empty store.
 */
export function operationsConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store operations conformance: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
      kind: 'script',
      scriptPath: 'examples/heavy',
      scriptHash: 'abc',
      entrypoint: 'main',
      args: {},
      ...over,
    });
    const claim = (limit = 10) => store.claim({ workerId: 'w1', tags: 'all', limit, leaseMs: 30_000 });
    const done = (job: JobRecord) => store.finish(job.id, { status: 'success', result: 1 }, Date.now());

    /** A whole run: a root and one child, each claimed and finished, with logs, flow status and progress. */
    async function finishedRun(i: number): Promise<string> {
      const { job: root } = await store.enqueue(spec({ args: { i } }));
      await claim(1);
      await store.appendLogs(root.id, [{ ts: 1, stream: 'stdout', line: `root ${i}` }]);
      const { job: child } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 't', args: [i], parentJob: root.id, callKey: 't:0' }),
      );
      await claim(1);
      await store.appendLogs(child.id, [{ ts: 2, stream: 'stdout', line: `child ${i}` }]); // and its copy in the root's log
      await store.setFlowStatus(root.id, { step: i });
      await store.setProgress(child.id, { percent: 100, message: null }, 3);
      await done(child);
      await done(root);
      return root.id;
    }

    it('countLive counts queued and running jobs per tag, and nothing finished', async () => {
      await store.enqueue(spec({ tag: 'cpu' }));
      await store.enqueue(spec({ tag: 'cpu' }));
      await store.enqueue(spec({ tag: 'io' }));
      const [first] = await store.claim({ workerId: 'w1', tags: ['io'], limit: 1, leaseMs: 30_000 });
      const { job: old } = await store.enqueue(spec({ tag: 'gone' }));
      await store.claim({ workerId: 'w1', tags: ['gone'], limit: 1, leaseMs: 30_000 });
      await done(old);
      expect(first.tag).toBe('io');
      expect(await store.countLive()).toEqual([
        { tag: 'cpu', status: 'queued', count: 2 },
        { tag: 'io', status: 'running', count: 1 },
      ]);
    });

    it('schemaState: a store opened by this millrace is at the latest version', async () => {
      const state = await store.schemaState();
      expect(state.version).toBe(state.latest);
      expect(state.latest).toBeGreaterThan(1);
    });

    it('progress: the last report stands; none for a job that made none; false for an unknown job', async () => {
      const { job } = await store.enqueue(spec());
      expect(await store.getProgress(job.id)).toBeUndefined();
      expect(await store.setProgress(job.id, { percent: 10, message: 'reading' }, 1000)).toBe(true);
      expect(await store.setProgress(job.id, { percent: 55, message: null }, 2000)).toBe(true);
      expect(await store.getProgress(job.id)).toEqual({ percent: 55, message: null, updatedAt: 2000 });
      expect(await store.setProgress('nosuchjob0000000000', { percent: 1, message: null }, 1)).toBe(false);
      expect(await store.getProgress('nosuchjob0000000000')).toBeUndefined();
      const { job: other } = await store.enqueue(spec());
      await store.setProgress(other.id, { percent: 0, message: 'starting' }, 3000);
      const many = await store.listProgress([job.id, other.id, 'nosuchjob0000000000']);
      expect(Object.fromEntries(many)).toEqual({
        [job.id]: { percent: 55, message: null, updatedAt: 2000 },
        [other.id]: { percent: 0, message: 'starting', updatedAt: 3000 },
      });
      expect((await store.listProgress([])).size).toBe(0);
    });

    it('pruneRuns deletes exactly the 200 finished runs, counted per table, in batches, and leaves a running run whole', async () => {
      const pruned: string[] = [];
      for (let i = 0; i < 200; i++) pruned.push(await finishedRun(i));
      // A run still going: its root finished a child and awaits another; and a finished root whose detached child still runs.
      const { job: live } = await store.enqueue(spec({ args: { live: true } }));
      await claim(1);
      await store.appendLogs(live.id, [{ ts: 1, stream: 'stdout', line: 'live' }]);
      await store.setProgress(live.id, { percent: 40, message: 'half' }, 5);
      const { job: detachedRoot } = await store.enqueue(spec({ args: { detached: true } }));
      await claim(1);
      const { job: detached } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 't', args: [], parentJob: detachedRoot.id, callKey: 't:0' }),
      );
      await done(detachedRoot);
      const before = Date.now() + 1;

      const dry = await store.pruneRuns({ finishedBefore: before, dryRun: true, batchSize: 64 });
      const expected = { jobs: 400, logs: 600, attempts: 400, flowStatus: 200, progress: 200, traces: 0, events: 0 };
      expect(dry).toEqual({ dryRun: true, runs: 200, rows: expected, batches: 4 });
      expect(await store.get(pruned[0])).toBeDefined();

      const report = await store.pruneRuns({ finishedBefore: before, batchSize: 64 });
      expect(report).toEqual({ dryRun: false, runs: 200, rows: expected, batches: 4 });
      for (const id of [pruned[0], pruned[99], pruned[199]]) {
        expect(await store.get(id)).toBeUndefined();
        expect(await store.readLogs(id)).toEqual([]);
        expect(await store.attempts(id)).toEqual([]);
        expect(await store.getFlowStatus(id)).toBeUndefined();
      }
      expect(await store.list({ limit: 1000 })).toHaveLength(3);
      expect((await store.get(live.id))?.status).toBe('running');
      expect((await store.readLogs(live.id)).map((l) => l.line)).toEqual(['live']);
      expect(await store.attempts(live.id)).toHaveLength(1);
      expect(await store.getProgress(live.id)).toMatchObject({ percent: 40 });
      expect((await store.get(detached.id))?.status).toBe('queued');
      // Nothing more to do; a time before every run deletes nothing.
      expect((await store.pruneRuns({ finishedBefore: before })).runs).toBe(0);
    });

    it('run traces: the first record stands, none for a run without one, and prune deletes it with its run', async () => {
      const { job } = await store.enqueue(
        spec({ trace: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7' } }),
      );
      expect(await store.getRunTrace(job.id)).toBeUndefined(); // the store records it when asked; the Coordinator asks
      await store.setRunTrace(job.id, {
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        parentSpanId: '00f067aa0ba902b7',
      });
      await store.setRunTrace(job.id, {
        traceId: 'ffffffffffffffffffffffffffffffff',
        parentSpanId: 'ffffffffffffffff',
      });
      expect(await store.getRunTrace(job.id)).toEqual({
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        parentSpanId: '00f067aa0ba902b7',
      });
      await claim(1);
      await done(job);
      const report = await store.pruneRuns({ finishedBefore: Date.now() + 1 });
      expect(report.rows).toMatchObject({ jobs: 1, traces: 1 });
      expect(await store.getRunTrace(job.id)).toBeUndefined();
    });

    it('prune deletes the events sent to the jobs of a run, and counts them', async () => {
      const { job } = await store.enqueue(spec());
      await claim(1);
      expect((await store.sendEvent(job.id, 'paid', { amount: 3 }, 1)).status).toBe('kept');
      await done(job);
      expect(await store.events(job.id)).toHaveLength(1);
      const report = await store.pruneRuns({ finishedBefore: Date.now() + 1 });
      expect(report.rows).toMatchObject({ jobs: 1, events: 1 });
      expect(await store.events(job.id)).toEqual([]);
    });

    it('pruneRuns keeps runs that finished at or after the cutoff', async () => {
      const id = await finishedRun(1);
      const finishedAt = (await store.get(id))!.completedAt!;
      expect((await store.pruneRuns({ finishedBefore: finishedAt })).runs).toBe(0);
      expect((await store.pruneRuns({ finishedBefore: finishedAt + 1 })).runs).toBe(1);
    });
  });
}
