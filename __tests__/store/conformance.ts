import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ParentNotHeldError, UnknownParentError } from '../../lib/errors.js';
import type { Store } from '../../lib/store/store.js';
import type { JobSpec, LogLine, TokenRecord } from '../../lib/types.js';
import { eventsConformance } from './events-conformance.js';
import { scheduleConformance } from './conformance-schedules.js';

/**
 * The store conformance suite: every Store implementation must pass it.
 * `makeStore` returns a fresh, empty store.
 */
export function storeConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
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
      args: { n: 3 },
      ...over,
    });
    const claimAll = (workerId = 'w1', limit = 10) => store.claim({ workerId, tags: 'all', limit, leaseMs: 30_000 });

    it('enqueues a root job with every field recorded', async () => {
      const before = Date.now();
      const { job, created } = await store.enqueue(spec({ tag: 'cpu', timeout: 5, retry: { attempts: 3, delay: 1 } }));
      expect(created).toBe(true);
      expect(job).toMatchObject({
        workspace: 'default',
        kind: 'script',
        scriptPath: 'examples/heavy',
        scriptHash: 'abc',
        entrypoint: 'main',
        args: { n: 3 },
        tag: 'cpu',
        status: 'queued',
        parentJob: null,
        rootJob: job.id,
        path: job.id,
        callKey: null,
        attempt: 0,
        maxAttempts: 3,
        timeout: 5,
        retry: { attempts: 3, delay: 1 },
        startedAt: null,
        completedAt: null,
        durationMs: null,
        worker: null,
        result: null,
        error: null,
        canceledBy: null,
        idempotencyKey: null,
      });
      expect(job.createdAt).toBeGreaterThanOrEqual(before);
      expect(job.scheduledFor).toBe(job.createdAt);
      expect(await store.get(job.id)).toEqual(job);
    });

    it('schedules a delayed job exactly its delay after its creation', async () => {
      const { job } = await store.enqueue(spec({ delayMs: 3_600_000 }));
      expect(job.scheduledFor - job.createdAt).toBe(3_600_000);
      expect((await claimAll()).map((j) => j.id)).not.toContain(job.id); // not due for an hour
    });

    it('takes a caller-chosen id', async () => {
      const { job } = await store.enqueue(spec({ id: 'chosen-id-1' }));
      expect(job.id).toBe('chosen-id-1');
    });

    it('links children to their parent and root', async () => {
      const { job: root } = await store.enqueue(spec());
      const { job: child } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 't', args: [1], parentJob: root.id, callKey: 't:0' }),
      );
      const { job: grand } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 'g', args: [], parentJob: child.id, callKey: 'g:0' }),
      );
      expect(child).toMatchObject({ parentJob: root.id, rootJob: root.id, path: `${root.id}/${child.id}`, args: [1] });
      expect(grand).toMatchObject({
        parentJob: child.id,
        rootJob: root.id,
        path: `${root.id}/${child.id}/${grand.id}`,
      });
      expect((await store.descendants(root.id)).map((j) => j.id)).toEqual([child.id, grand.id]);
      expect((await store.descendants(child.id)).map((j) => j.id)).toEqual([grand.id]);
    });

    it('returns the recorded child for a repeated (parent, call key)', async () => {
      const { job: root } = await store.enqueue(spec());
      const first = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0', args: [1] }));
      const again = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0', args: [1] }));
      const other = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:1', args: [2] }));
      expect(again.created).toBe(false);
      expect(again.job.id).toBe(first.job.id);
      expect(other.created).toBe(true);
      expect(other.job.id).not.toBe(first.job.id);
    });

    it('takes many submissions at once: each recorded once, in order, and each error its own', async () => {
      // A fan-out's calls arrive together (a store may write them in one statement).
      const { job: root } = await store.enqueue(spec());
      const calls = Array.from({ length: 50 }, (_, i) =>
        spec({ kind: 'task', entrypoint: 'leaf', args: [i], parentJob: root.id, callKey: `leaf:${i}` }),
      );
      const settled = await Promise.allSettled([
        ...calls.map((c) => store.enqueue(c)),
        store.enqueue(calls[7]), // the same call twice: one job
        store.enqueue(spec({ kind: 'task', parentJob: 'no-such-parent', callKey: 't:0', args: [] })),
        store.enqueue(spec({ idempotencyKey: 'batch-1' })),
        store.enqueue(spec({ idempotencyKey: 'batch-1' })),
      ]);
      const ok = settled.slice(0, 51).map((r) => (r.status === 'fulfilled' ? r.value : undefined));
      expect(ok.every((r) => r !== undefined)).toBe(true);
      const leaves = ok.slice(0, 50).map((r) => r!.job);
      expect(leaves.map((j) => j.args)).toEqual(calls.map((c) => c.args));
      expect(leaves.every((j) => j.parentJob === root.id && j.path === `${root.id}/${j.id}`)).toBe(true);
      expect(ok[50]!.job.id).toBe(leaves[7].id);
      expect([ok[7]!.created, ok[50]!.created].sort()).toEqual([false, true]);
      expect(settled[51]).toMatchObject({ status: 'rejected' });
      expect(String((settled[51] as PromiseRejectedResult).reason)).toMatch(/no-such-parent/);
      const [k1, k2] = settled
        .slice(52)
        .map((r) => (r as PromiseFulfilledResult<{ job: { id: string }; created: boolean }>).value);
      expect(k1.job.id).toBe(k2.job.id);
      expect([k1.created, k2.created].sort()).toEqual([false, true]);
      expect(await store.descendants(root.id)).toHaveLength(50);
      // Claimed in the order they were submitted.
      const claimed = await store.claim({ workerId: 'w1', tags: 'all', limit: 100, leaseMs: 30_000 });
      expect(claimed.filter((j) => j.parentJob === root.id).map((j) => j.args)).toEqual(calls.map((c) => c.args));
    });

    it('queues a failed child again when its parent makes the same call again', async () => {
      const { job: root } = await store.enqueue(spec());
      const { job: child } = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      await store.claim({
        workerId: 'w1',
        tags: 'all',
        rootJobs: new Set([child.id, root.id]),
        limit: 5,
        leaseMs: 1000,
      });
      await store.finish(child.id, { status: 'failure', error: { name: 'Error', message: 'first run' } }, Date.now());
      const again = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      expect(again.created).toBe(true);
      expect(again.job).toMatchObject({
        id: child.id,
        status: 'queued',
        attempt: 1,
        maxAttempts: 2,
        error: null,
        result: null,
      });
      const [claimed] = await store.claim({ workerId: 'w2', tags: 'all', limit: 5, leaseMs: 1000 });
      expect(claimed).toMatchObject({ id: child.id, attempt: 2 });
      await store.finish(child.id, { status: 'success', result: 'second run' }, Date.now());
      expect((await store.attempts(child.id)).map((a) => [a.attempt, a.status])).toEqual([
        [1, 'failure'],
        [2, 'success'],
      ]);
      const replay = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      expect(replay).toMatchObject({ created: false, job: { id: child.id, status: 'success', result: 'second run' } });
    });

    it('a parent that replays (its attempt was lost) gets its failed child as recorded, not run again', async () => {
      const { job: root } = await store.enqueue(spec());
      await claimAll();
      const { job: child } = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      await claimAll();
      await store.finish(child.id, { status: 'failure', error: { name: 'Error', message: 'for good' } }, Date.now());
      await store.release(root.id, { name: 'ReleasedError', code: 'RELEASED', message: 'thread replaced' }, Date.now());
      await claimAll('w2');
      const replay = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      expect(replay).toMatchObject({ created: false, job: { id: child.id, status: 'failure', attempt: 1 } });
      // A parent retried after its own failure runs the failed call again.
      await store.retry(root.id, { name: 'Error', message: 'parent failed' }, Date.now(), Date.now());
      await claimAll('w3');
      const retried = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 't:0' }));
      expect(retried).toMatchObject({ created: true, job: { id: child.id, status: 'queued' } });
    });

    it('returns the job first submitted with an idempotency key, per workspace', async () => {
      const first = await store.enqueue(spec({ idempotencyKey: 'order-17' }));
      const again = await store.enqueue(spec({ idempotencyKey: 'order-17', args: { n: 99 } }));
      expect(first.created).toBe(true);
      expect(again).toEqual({ job: first.job, created: false });
      expect(first.job.idempotencyKey).toBe('order-17');
      const elsewhere = await store.enqueue(spec({ idempotencyKey: 'order-17', workspace: 'other' }));
      expect(elsewhere.created).toBe(true);
      expect(elsewhere.job.id).not.toBe(first.job.id);
      const other = await store.enqueue(spec({ idempotencyKey: 'order-18' }));
      expect(other.job.id).not.toBe(first.job.id);
    });

    it('records a finished step once and finds children by call key', async () => {
      const { job: root } = await store.enqueue(spec());
      const stepSpec = {
        ...spec({ kind: 'step', entrypoint: 'now', args: [] }),
        parentJob: root.id,
        callKey: 'step:now:0',
      };
      const first = await store.record(stepSpec, { status: 'success', result: 1234 }, 100, 105);
      expect(first.created).toBe(true);
      expect(first.job).toMatchObject({
        kind: 'step',
        status: 'success',
        result: 1234,
        attempt: 1,
        startedAt: 100,
        completedAt: 105,
        durationMs: 5,
        parentJob: root.id,
        rootJob: root.id,
      });
      const again = await store.record(stepSpec, { status: 'success', result: 9999 }, 200, 205);
      expect(again).toEqual({ job: first.job, created: false });
      expect(await store.findChild(root.id, 'step:now:0')).toEqual(first.job);
      expect(await store.findChild(root.id, 'step:now:1')).toBeUndefined();
      // A recorded step is never claimed.
      expect((await claimAll()).map((j) => j.id)).toEqual([root.id]);
    });

    it('releases a running job back to the queue with one more attempt, recorded', async () => {
      const { job } = await store.enqueue(spec());
      await claimAll();
      const released = await store.release(
        job.id,
        { name: 'ReleasedError', code: 'RELEASED', message: 'thread replaced' },
        500,
      );
      expect(released).toMatchObject({ status: 'queued', attempt: 1, maxAttempts: 2, worker: null });
      expect(await store.release(job.id, { name: 'X', message: 'y' }, 600)).toBeUndefined();
      const [again] = await claimAll('w2');
      expect(again).toMatchObject({ id: job.id, attempt: 2, worker: 'w2' });
      const attempts = await store.attempts(job.id);
      expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
        [1, 'failure', 'RELEASED'],
        [2, 'running', null],
      ]);
    });

    it('claims oldest first, by tag, up to the limit, once', async () => {
      const a = (await store.enqueue(spec({ tag: 'cpu' }))).job;
      const b = (await store.enqueue(spec({ tag: 'gpu' }))).job;
      const c = (await store.enqueue(spec({ tag: 'cpu' }))).job;
      const d = (await store.enqueue(spec({ tag: 'cpu' }))).job;
      const first = await store.claim({ workerId: 'w1', tags: ['cpu'], limit: 2, leaseMs: 30_000 });
      expect(first.map((j) => j.id)).toEqual([a.id, c.id]);
      expect(first[0]).toMatchObject({ status: 'running', worker: 'w1', attempt: 1 });
      const second = await store.claim({ workerId: 'w2', tags: ['cpu', 'other'], limit: 5, leaseMs: 30_000 });
      expect(second.map((j) => j.id)).toEqual([d.id]);
      expect(await store.claim({ workerId: 'w2', tags: ['cpu'], limit: 5, leaseMs: 30_000 })).toEqual([]);
      const rest = await store.claim({ workerId: 'w3', tags: 'all', limit: 5, leaseMs: 30_000 });
      expect(rest.map((j) => j.id)).toEqual([b.id]);
    });

    it('claims only due jobs, of the given runs and workspace', async () => {
      const later = (await store.enqueue(spec({ scheduledFor: Date.now() + 60_000 }))).job;
      const other = (await store.enqueue(spec({ workspace: 'w2' }))).job;
      const mine = (await store.enqueue(spec())).job;
      const claimed = await store.claim({
        workerId: 'w',
        tags: 'all',
        rootJobs: new Set([mine.id, later.id]),
        workspace: 'default',
        limit: 10,
        leaseMs: 1000,
      });
      expect(claimed.map((j) => j.id)).toEqual([mine.id]);
      expect((await store.get(later.id))!.status).toBe('queued');
      expect((await store.get(other.id))!.status).toBe('queued');
    });

    it('records start, completion, result and duration', async () => {
      const { job } = await store.enqueue(spec());
      await claimAll();
      const started = Date.now();
      await store.markStarted(job.id, started);
      expect((await store.get(job.id))!.startedAt).toBe(started);
      const done = await store.finish(job.id, { status: 'success', result: { ok: [1, 'two'] } }, started + 25);
      expect(done).toMatchObject({
        status: 'success',
        result: { ok: [1, 'two'] },
        completedAt: started + 25,
        durationMs: 25,
        error: null,
      });
      // The first word stands: a late second report changes nothing.
      expect(
        await store.finish(job.id, { status: 'failure', error: { name: 'E', message: 'late' } }, started + 30),
      ).toBeUndefined();
      expect((await store.get(job.id))!.status).toBe('success');
      const attempts = await store.attempts(job.id);
      expect(attempts).toEqual([
        expect.objectContaining({
          attempt: 1,
          worker: 'w1',
          status: 'success',
          startedAt: started,
          completedAt: started + 25,
          error: null,
        }),
      ]);
    });

    it('records a start sent with the end in the end’s write, alone and many in a tick; a start already recorded stands', async () => {
      const jobs = await Promise.all(Array.from({ length: 4 }, (_, i) => store.enqueue(spec({ args: { held: i } }))));
      const ids = jobs.map((j) => j.job.id);
      await claimAll();
      const t = Date.now();
      await store.markStarted(ids[3], t - 100);
      // One end alone, then three in one tick (the last already started).
      const alone = await store.finish(ids[0], { status: 'success', result: 0 }, t + 7, t);
      expect(alone).toMatchObject({ status: 'success', startedAt: t, completedAt: t + 7, durationMs: 7 });
      const ends = await Promise.all(
        ids
          .slice(1)
          .map((id, i) => store.finish(id, { status: 'failure', error: { name: 'E', message: 'x' } }, t + 20, t + i)),
      );
      expect(ends.map((e) => e && [e.startedAt, e.durationMs])).toEqual([
        [t, 20],
        [t + 1, 19],
        [t - 100, 120],
      ]);
      const attempts = await Promise.all(ids.map((id) => store.attempts(id)));
      expect(attempts.map((a) => [a.length, a[0].startedAt, a[0].completedAt])).toEqual([
        [1, t, t + 7],
        [1, t, t + 20],
        [1, t + 1, t + 20],
        [1, t - 100, t + 20],
      ]);
      expect((await store.get(ids[2]))!.startedAt).toBe(t + 1);
    });

    it('records the starts and ends of many jobs in one tick, each its own; a job ended twice keeps its first end', async () => {
      const jobs = await Promise.all(Array.from({ length: 5 }, (_, i) => store.enqueue(spec({ args: { i } }))));
      const ids = jobs.map((j) => j.job.id);
      await claimAll();
      const t = Date.now();
      // All in one tick: a store that writes a tick's rows together must still answer each.
      await Promise.all(ids.map((id, i) => store.markStarted(id, t + i)));
      const looked = await Promise.all([...ids, 'no-such-job'].map((id) => store.get(id)));
      expect(looked.map((j) => j?.startedAt)).toEqual([t, t + 1, t + 2, t + 3, t + 4, undefined]);
      const ends = await Promise.all([
        ...ids.map((id, i) =>
          store.finish(
            id,
            i % 2 === 0
              ? { status: 'success', result: { i } }
              : { status: 'failure', error: { name: 'E', message: `no ${i}` } },
            t + 10 + i,
          ),
        ),
        store.finish(ids[0], { status: 'failure', error: { name: 'E', message: 'late' } }, t + 50),
      ]);
      expect(ends.map((e) => e && [e.id, e.status, e.durationMs])).toEqual([
        [ids[0], 'success', 10],
        [ids[1], 'failure', 10],
        [ids[2], 'success', 10],
        [ids[3], 'failure', 10],
        [ids[4], 'success', 10],
        undefined,
      ]);
      expect(ends[1]!.error).toEqual({ name: 'E', message: 'no 1' });
      expect(ends[2]!.result).toEqual({ i: 2 });
      const attempts = await Promise.all(ids.map((id) => store.attempts(id)));
      expect(attempts.map((a) => [a.length, a[0].status, a[0].startedAt, a[0].completedAt])).toEqual(
        ids.map((_, i) => [1, i % 2 === 0 ? 'success' : 'failure', t + i, t + 10 + i]),
      );
    });

    it('writes a start or an end given a lease only while the job is held so, alone and many in a tick', async () => {
      const jobs = await Promise.all(Array.from({ length: 6 }, (_, i) => store.enqueue(spec({ args: { lease: i } }))));
      const ids = jobs.map((j) => j.job.id);
      await claimAll('w-held');
      const held = { workerId: 'w-held', attempt: 1, workspace: 'default' };
      const t = Date.now();
      // Not held: another worker, another attempt, another workspace, a job never claimed.
      const others = [
        { ...held, workerId: 'w-other' },
        { ...held, attempt: 2 },
        { ...held, workspace: 'elsewhere' },
      ];
      const { job: queued } = await store.enqueue(spec({ args: { lease: 'queued' } }));
      const starts = await Promise.all([
        store.markStarted(ids[0], t, held),
        ...others.map((o, i) => store.markStarted(ids[i + 1], t, o)),
        store.markStarted(queued.id, t, { ...held, attempt: 0 }),
      ]);
      expect(starts).toEqual([true, false, false, false, false]);
      expect((await Promise.all(ids.slice(0, 4).map((id) => store.get(id)))).map((j) => j!.startedAt)).toEqual([
        t,
        null,
        null,
        null,
      ]);
      // One end alone, then four in one tick: only the held ones are written.
      expect(await store.finish(ids[1], { status: 'success', result: 1 }, t + 5, t, others[0])).toBeUndefined();
      const ends = await Promise.all([
        store.finish(ids[0], { status: 'success', result: 0 }, t + 5, undefined, held),
        ...others.map((o, i) => store.finish(ids[i + 2], { status: 'success', result: i }, t + 5, t, o)),
        store.finish(ids[5], { status: 'canceled', error: { name: 'E', message: 'x' } }, t + 5, t, held),
      ]);
      expect(ends.map((e) => e?.status)).toEqual(['success', undefined, undefined, undefined, 'canceled']);
      const after = await Promise.all(ids.map((id) => store.get(id)));
      expect(after.map((j) => j!.status)).toEqual(['success', 'running', 'running', 'running', 'running', 'canceled']);
      expect((await store.attempts(ids[2]))[0]).toMatchObject({ status: 'running', completedAt: null });
      // Once ended, the job is held by no one: a second end with the same lease writes nothing.
      expect(
        await store.finish(ids[0], { status: 'success', result: 'again' }, t + 9, undefined, held),
      ).toBeUndefined();
      expect(await store.markStarted(ids[0], t + 9, held)).toBe(false);
    });

    it('records a child given its parent’s lease only while the parent is held so, alone and many in a tick', async () => {
      const { job: parent } = await store.enqueue(spec({ args: { parent: 1 } }));
      const held = { workerId: 'w-parent', attempt: 1, workspace: 'default' };
      const child = (i: number) => spec({ parentJob: parent.id, callKey: `c${i}`, args: { i } });
      // Queued, nobody holds it: refused, alone and in a tick, and nothing recorded.
      await expect(store.enqueue(child(0), undefined, held)).rejects.toBeInstanceOf(ParentNotHeldError);
      await claimAll('w-parent');
      const refused = await Promise.allSettled([
        store.enqueue(child(1), undefined, { ...held, workerId: 'w-other' }),
        store.enqueue(child(2), undefined, { ...held, attempt: 2 }),
        store.enqueue(child(3), undefined, { ...held, workspace: 'elsewhere' }),
        store.enqueue(child(4), { workerId: 'w-parent', leaseMs: 30_000 }, { ...held, workerId: 'w-other' }),
      ]);
      expect(refused.map((r) => r.status === 'rejected' && r.reason instanceof ParentNotHeldError)).toEqual([
        true,
        true,
        true,
        true,
      ]);
      expect(await store.list({ parentJob: parent.id, limit: 10 })).toEqual([]);
      await expect(
        store.enqueue(spec({ parentJob: 'no-such-parent', callKey: 'c' }), undefined, held),
      ).rejects.toBeInstanceOf(UnknownParentError);
      // Held: recorded, in a tick, taken at once where asked; a recorded call is found again.
      const made = await Promise.all([
        store.enqueue(child(5), undefined, held),
        store.enqueue(child(6), { workerId: 'w-parent', leaseMs: 30_000 }, held),
      ]);
      expect(made.map((m) => [m.created, m.job.status])).toEqual([
        [true, 'queued'],
        [true, 'running'],
      ]);
      expect(await store.enqueue(child(5), undefined, held)).toMatchObject({
        created: false,
        job: { id: made[0].job.id },
      });
      // Once the parent has ended, its lease is no one's.
      await store.finish(parent.id, { status: 'success', result: null }, Date.now());
      await expect(store.enqueue(child(7), undefined, held)).rejects.toBeInstanceOf(ParentNotHeldError);
      expect(await store.list({ parentJob: parent.id, limit: 10 })).toHaveLength(2);
    });

    it('records a failure with its error', async () => {
      const { job } = await store.enqueue(spec());
      await claimAll();
      const error = { name: 'TypeError', message: 'bad', stack: 'TypeError: bad\n    at x.ts:1:1' };
      const done = await store.finish(job.id, { status: 'failure', error }, Date.now());
      expect(done).toMatchObject({ status: 'failure', error, result: null });
    });

    it('retries: back to the queue, then a second attempt, each attempt recorded', async () => {
      const { job } = await store.enqueue(spec({ maxAttempts: 3 }));
      await claimAll();
      const error = { name: 'Error', message: 'first try failed' };
      // The attempt ended a second ago (its worker's stamp): that is its recorded end.
      const ended = Date.now() - 1_000;
      const due = ended + 60_000;
      const requeued = await store.retry(job.id, error, ended, due);
      expect(requeued).toMatchObject({ status: 'queued', attempt: 1, scheduledFor: due, worker: null });
      expect(await store.attempts(job.id)).toMatchObject([
        { attempt: 1, status: 'failure', error, completedAt: ended },
      ]);
      expect(await claimAll()).toEqual([]);
      await store.retry(job.id, error, Date.now(), Date.now()); // not running any more: no effect
      expect((await store.get(job.id))!.scheduledFor).toBe(due);
    });

    it('takes a new job for the worker that asks as it is recorded: running, attempt 1, its attempt recorded; no claim sees it', async () => {
      const { job: root } = await store.enqueue(spec());
      await claimAll('w1');
      const { job, created } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 't', args: [1], parentJob: root.id, callKey: 't:0' }),
        { workerId: 'w1', leaseMs: 30_000 },
      );
      expect(created).toBe(true);
      expect(job).toMatchObject({ status: 'running', worker: 'w1', attempt: 1, parentJob: root.id, rootJob: root.id });
      expect(await store.attempts(job.id)).toMatchObject([
        { attempt: 1, worker: 'w1', status: 'running', claimedAt: job.createdAt },
      ]);
      expect(await claimAll('w2')).toEqual([]);
      expect(await store.renewLeases('w1', [job.id], 30_000)).toEqual([]);
      expect(await store.finish(job.id, { status: 'success', result: 2 }, Date.now())).toMatchObject({
        status: 'success',
        attempt: 1,
      });
    });

    it('records a child that ran before it was recorded already succeeded, with its attempt, in one write, only under its worker’s parent', async () => {
      const { job: root } = await store.enqueue(spec());
      await claimAll('w1');
      const t = Date.now() - 10_000;
      const child = (n: number) =>
        spec({ kind: 'task', entrypoint: 't', args: [n], parentJob: root.id, callKey: `t:${n}`, id: `ended${n}` });
      const ended = { result: { n: 1 }, startedAt: t + 2, at: t + 7, parentAttempt: 1 };
      const { job, created } = await store.enqueue(child(1), { workerId: 'w1', leaseMs: 30_000, takenAt: t, ended });
      expect(created).toBe(true);
      const recorded = {
        id: 'ended1',
        status: 'success',
        result: { n: 1 },
        error: null,
        worker: 'w1',
        attempt: 1,
        parentJob: root.id,
        rootJob: root.id,
        path: `${root.id}/ended1`,
        createdAt: t,
        scheduledFor: t,
        startedAt: t + 2,
        completedAt: t + 7,
        durationMs: 5,
      };
      expect(job).toMatchObject(recorded);
      expect(await store.get('ended1')).toMatchObject(recorded);
      expect(await store.attempts('ended1')).toMatchObject([
        { attempt: 1, worker: 'w1', status: 'success', claimedAt: t, startedAt: t + 2, completedAt: t + 7 },
      ]);
      // Finished: no lease to renew, nothing to claim, and a late end of it changes nothing.
      expect(await store.renewLeases('w1', ['ended1'], 30_000)).toEqual(['ended1']);
      expect(await claimAll('w2')).toEqual([]);
      expect(await store.finish('ended1', { status: 'success', result: 'late' }, Date.now())).toBeUndefined();
      // The parent held by another worker, or at another attempt: refused, nothing recorded.
      const refused = await Promise.allSettled([
        store.enqueue(child(2), { workerId: 'w2', leaseMs: 30_000, takenAt: t, ended }),
        store.enqueue(child(3), { workerId: 'w1', leaseMs: 30_000, takenAt: t, ended: { ...ended, parentAttempt: 2 } }),
      ]);
      expect(refused.map((r) => r.status === 'rejected' && r.reason instanceof ParentNotHeldError)).toEqual([
        true,
        true,
      ]);
      expect((await store.list({ parentJob: root.id, limit: 10 })).map((j) => j.id)).toEqual(['ended1']);
      // Many in a tick (one statement on PostgreSQL), each as alone.
      const many = await Promise.all(
        [4, 5].map((n) =>
          store.enqueue(child(n), { workerId: 'w1', leaseMs: 30_000, takenAt: t, ended: { ...ended, result: n } }),
        ),
      );
      expect(many.map(({ job: j }) => [j.id, j.status, j.result, j.startedAt, j.completedAt])).toEqual([
        ['ended4', 'success', 4, t + 2, t + 7],
        ['ended5', 'success', 5, t + 2, t + 7],
      ]);
      expect(await store.attempts('ended5')).toMatchObject([{ status: 'success', startedAt: t + 2 }]);
      // A call already recorded at its key is that record: nothing more is written.
      const again = await store.enqueue(
        { ...child(1), id: 'ended9' },
        { workerId: 'w1', leaseMs: 30_000, takenAt: t, ended },
      );
      expect(again).toMatchObject({ created: false, job: { id: 'ended1' } });
      expect(await store.get('ended9')).toBeUndefined();
    });

    it('does not take a job due later, one with a concurrency or rate key, or a call already recorded', async () => {
      const { job: root } = await store.enqueue(spec());
      await claimAll('w1');
      const child = (n: number, over: Partial<JobSpec> = {}) =>
        store.enqueue(
          spec({ kind: 'task', entrypoint: 't', args: [n], parentJob: root.id, callKey: `t:${n}`, ...over }),
          {
            workerId: 'w1',
            leaseMs: 30_000,
          },
        );
      const later = await child(1, { delayMs: 60_000 });
      const limited = await child(2, { flowControl: { concurrency: { key: 'k', limit: 1 } } });
      const rated = await child(3, { flowControl: { rateLimit: { key: 'r', limit: 5, perMs: 1_000 } } });
      const sleep = await child(4, { kind: 'sleep', delayMs: 0 });
      for (const { job } of [later, limited, rated, sleep])
        expect(job).toMatchObject({ status: 'queued', worker: null, attempt: 0 });
      // A call already recorded is that record, as it is: not taken again.
      const taken = await child(5);
      expect(taken.job.status).toBe('running');
      const again = await child(5);
      expect(again).toMatchObject({ created: false, job: { id: taken.job.id, status: 'running', attempt: 1 } });
      expect(await store.attempts(taken.job.id)).toHaveLength(1);
    });

    it('claims a retried job again as its next attempt', async () => {
      const { job } = await store.enqueue(spec({ maxAttempts: 2 }));
      await claimAll('w1');
      await store.retry(job.id, { name: 'Error', message: 'boom' }, Date.now() - 1, Date.now() - 1);
      const [again] = await claimAll('w2');
      expect(again).toMatchObject({ id: job.id, attempt: 2, worker: 'w2' });
      await store.finish(job.id, { status: 'success', result: 1 }, Date.now());
      const attempts = await store.attempts(job.id);
      expect(attempts.map((a) => [a.attempt, a.worker, a.status, a.error?.message ?? null])).toEqual([
        [1, 'w1', 'failure', 'boom'],
        [2, 'w2', 'success', null],
      ]);
    });

    it('cancels a job and its unfinished descendants only', async () => {
      const { job: root } = await store.enqueue(spec());
      const { job: a } = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 'a:0' }));
      const { job: b } = await store.enqueue(spec({ kind: 'task', parentJob: root.id, callKey: 'b:0' }));
      const { job: a1 } = await store.enqueue(spec({ kind: 'task', parentJob: a.id, callKey: 'a1:0' }));
      const { job: other } = await store.enqueue(spec());
      await store.claim({ workerId: 'w', tags: 'all', rootJobs: new Set([root.id]), limit: 2, leaseMs: 1000 }); // root, a
      await store.finish(b.id, { status: 'success', result: null }, Date.now()); // b already done (queued → success)
      const canceled = await store.cancel(a.id, { reason: 'no longer needed', by: 'tester' });
      expect(canceled.map((j) => j.id).sort()).toEqual([a.id, a1.id].sort());
      for (const j of canceled) {
        expect(j.status).toBe('canceled');
        expect(j.canceledBy).toBe('tester');
        expect(j.error).toMatchObject({ name: 'CanceledError', message: 'no longer needed' });
      }
      expect((await store.get(root.id))!.status).toBe('running');
      expect((await store.get(b.id))!.status).toBe('success');
      expect((await store.get(other.id))!.status).toBe('queued');
      const all = await store.cancel(root.id, { reason: 'stop', by: 'tester' });
      expect(all.map((j) => j.id)).toEqual([root.id]);
      expect(await store.cancel('no-such-job', { reason: 'x', by: 'y' })).toEqual([]);
    });

    it('a canceled job is no longer its worker’s: renewLeases says so', async () => {
      const { job: a } = await store.enqueue(spec());
      const { job: b } = await store.enqueue(spec());
      await claimAll('w1');
      await store.cancel(b.id, { reason: 'x', by: 'y' });
      expect(await store.renewLeases('w1', [a.id, b.id], 30_000)).toEqual([b.id]);
      expect(await store.renewLeases('w2', [a.id], 30_000)).toEqual([a.id]);
    });

    it('returns expired leases to the queue with one more attempt, and fails a job that lost too many', async () => {
      const { job: a } = await store.enqueue(spec());
      const { job: healthy } = await store.enqueue(spec());
      await store.claim({ workerId: 'dead-1', tags: 'all', limit: 1, leaseMs: -1000 });
      await store.claim({ workerId: 'alive', tags: 'all', limit: 1, leaseMs: 60_000 });
      const first = await store.expireLeases(Date.now(), 2);
      expect(first.requeued.map((j) => j.id)).toEqual([a.id]);
      expect(first.requeued[0]).toMatchObject({ status: 'queued', worker: null, attempt: 1, maxAttempts: 2 });
      expect(first.failed).toEqual([]);
      expect((await store.get(healthy.id))!.status).toBe('running');

      const [again] = await store.claim({ workerId: 'dead-2', tags: 'all', limit: 1, leaseMs: -1000 });
      expect(again).toMatchObject({ id: a.id, attempt: 2, worker: 'dead-2' });
      const second = await store.expireLeases(Date.now(), 2);
      expect(second.requeued).toEqual([]);
      expect(second.failed.map((j) => j.id)).toEqual([a.id]);
      expect(second.failed[0]).toMatchObject({
        status: 'failure',
        error: { name: 'LeaseExpiredError', code: 'LEASE_EXPIRED' },
      });
      expect(second.failed[0].error!.message).toMatch(/lost 2 times, the most allowed/);
      const attempts = await store.attempts(a.id);
      expect(attempts.map((t) => [t.attempt, t.worker, t.status, t.error?.code])).toEqual([
        [1, 'dead-1', 'failure', 'LEASE_EXPIRED'],
        [2, 'dead-2', 'failure', 'LEASE_EXPIRED'],
      ]);
    });

    it('renewed leases do not expire', async () => {
      const { job } = await store.enqueue(spec());
      await store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: -1000 });
      await store.renewLeases('w', [job.id], 60_000);
      const { requeued, failed } = await store.expireLeases(Date.now(), 3);
      expect([...requeued, ...failed]).toEqual([]);
    });

    it('appends logs in order and forwards each line to every ancestor, marked', async () => {
      const { job: root } = await store.enqueue(spec());
      const { job: child } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 'child', parentJob: root.id, callKey: 'child:0' }),
      );
      const { job: grand } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 'grand', parentJob: child.id, callKey: 'grand:0' }),
      );
      await store.appendLogs(root.id, [{ ts: 1, stream: 'stdout', line: 'root says hi' }]);
      const written = await store.appendLogs(grand.id, [
        { ts: 2, stream: 'stdout', line: 'g1' },
        { ts: 3, stream: 'stderr', line: 'g2' },
      ]);
      expect(written).toHaveLength(6);
      await store.appendLogs(child.id, [{ ts: 4, stream: 'stdout', line: 'c1' }]);

      const own = (id: string) => store.readLogs(id, { ownOnly: true }).then((ls) => ls.map((l) => l.line));
      expect(await own(grand.id)).toEqual(['g1', 'g2']);
      expect(await own(child.id)).toEqual(['c1']);
      expect(await own(root.id)).toEqual(['root says hi']);

      const rootLog = await store.readLogs(root.id);
      expect(rootLog.map((l) => [l.line, l.source?.name ?? null, l.source?.jobId ?? null, l.stream])).toEqual([
        ['root says hi', null, null, 'stdout'],
        ['g1', 'grand', grand.id, 'stdout'],
        ['g2', 'grand', grand.id, 'stderr'],
        ['c1', 'child', child.id, 'stdout'],
      ]);
      const seqs = rootLog.map((l) => l.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      const after = await store.readLogs(root.id, { after: rootLog[1].seq });
      expect(after.map((l) => l.line)).toEqual(['g2', 'c1']);
      expect(await store.readLogs(root.id, { after: rootLog[1].seq, limit: 1 })).toHaveLength(1);
      expect((await store.readLogs(child.id)).map((l) => l.line)).toEqual(['g1', 'g2', 'c1']);
    });

    // A report's jobs log in the same tick: each caller gets back exactly the lines written for
    // it (the server hands them to in-process followers), however the store groups the writes.
    it('gives each append of a tick its own lines, across runs and twice to one job', async () => {
      const { job: a } = await store.enqueue(spec());
      const { job: b } = await store.enqueue(spec());
      const { job: child } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 'child', parentJob: a.id, callKey: 'child:0' }),
      );
      const line = (text: string) => ({ ts: 1, stream: 'stdout' as const, line: text });
      const [toA, toChild, toB, toChildAgain] = await Promise.all([
        store.appendLogs(a.id, [line('a1')]),
        store.appendLogs(child.id, [line('c1'), line('c2')]),
        store.appendLogs(b.id, [line('b1')]),
        store.appendLogs(child.id, [line('c3')]),
      ]);
      const shown = (ls: LogLine[]) =>
        ls.map((l) => `${l.jobId === a.id ? 'a' : l.jobId === b.id ? 'b' : 'c'}:${l.line}`);
      expect(shown(toA)).toEqual(['a:a1']);
      expect(shown(toB)).toEqual(['b:b1']);
      expect(shown(toChild).sort()).toEqual(['a:c1', 'a:c2', 'c:c1', 'c:c2']);
      expect(shown(toChildAgain).sort()).toEqual(['a:c3', 'c:c3']);
      expect((await store.readLogs(child.id)).map((l) => l.line)).toEqual(['c1', 'c2', 'c3']);
      expect((await store.readLogs(a.id)).map((l) => l.line).sort()).toEqual(['a1', 'c1', 'c2', 'c3']);
      expect((await store.readLogs(b.id)).map((l) => l.line)).toEqual(['b1']);
    });

    it('reads a log by cursor in pages: every line once, in order, however the pages fall', async () => {
      const { job: root } = await store.enqueue(spec());
      const { job: child } = await store.enqueue(
        spec({ kind: 'task', entrypoint: 'child', parentJob: root.id, callKey: 'child:0' }),
      );
      for (let i = 0; i < 23; i++) {
        await store.appendLogs(i % 3 === 0 ? child.id : root.id, [{ ts: i, stream: 'stdout', line: `l${i}` }]);
      }
      const whole = await store.readLogs(root.id);
      expect(whole.map((l) => l.line)).toEqual(Array.from({ length: 23 }, (_, i) => `l${i}`));
      for (const ownOnly of [false, true]) {
        for (const limit of [1, 4, 23, 100]) {
          const pages: string[][] = [];
          let after = 0;
          for (;;) {
            const page = await store.readLogs(root.id, { after, limit, ownOnly });
            if (page.length === 0) break;
            expect(page.length).toBeLessThanOrEqual(limit);
            pages.push(page.map((l) => l.line));
            after = page[page.length - 1].seq;
          }
          const expected = whole.filter((l) => !ownOnly || l.source === null).map((l) => l.line);
          expect(pages.flat()).toEqual(expected);
          expect(pages).toHaveLength(Math.ceil(expected.length / limit));
        }
      }
      // A cursor past the end, or on the last line, reads nothing.
      expect(await store.readLogs(root.id, { after: whole[22].seq, limit: 5 })).toEqual([]);
    });

    it('lists jobs newest first, by status, tag, script, parent and runs only', async () => {
      const { job: r1 } = await store.enqueue(spec({ scriptPath: 'a' }));
      const { job: c1 } = await store.enqueue(
        spec({ scriptPath: 'a', kind: 'task', tag: 'cpu', parentJob: r1.id, callKey: 'x:0' }),
      );
      const { job: r2 } = await store.enqueue(spec({ scriptPath: 'b' }));
      await store.claim({ workerId: 'w', tags: ['cpu'], limit: 1, leaseMs: 1000 });
      const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id);
      const all = await store.list({});
      expect(new Set(ids(all))).toEqual(new Set([r1.id, c1.id, r2.id]));
      for (let i = 1; i < all.length; i++) expect(all[i - 1].createdAt).toBeGreaterThanOrEqual(all[i].createdAt);
      expect(ids(await store.list({ status: ['running'] }))).toEqual([c1.id]);
      expect(new Set(ids(await store.list({ status: ['queued', 'running'] })))).toEqual(new Set([r1.id, c1.id, r2.id]));
      expect(ids(await store.list({ tag: 'cpu' }))).toEqual([c1.id]);
      expect(new Set(ids(await store.list({ scriptPath: 'a' })))).toEqual(new Set([r1.id, c1.id]));
      expect(ids(await store.list({ parentJob: r1.id }))).toEqual([c1.id]);
      expect(new Set(ids(await store.list({ rootsOnly: true })))).toEqual(new Set([r1.id, r2.id]));
      expect(await store.list({ limit: 1 })).toHaveLength(1);
      expect(await store.list({ workspace: 'nope' })).toEqual([]);
    });

    it('lists jobs by numbered pages, newest or oldest first', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await store.enqueue(spec({ scriptPath: 'paged' }))).job.id);
      const ids = (jobs: { id: string }[]) => jobs.map((j) => j.id);
      const newest = [...made].reverse();
      expect(ids(await store.list({ scriptPath: 'paged' }))).toEqual(newest);
      expect(ids(await store.list({ scriptPath: 'paged', order: 'oldest' }))).toEqual(made);
      expect(ids(await store.list({ scriptPath: 'paged', limit: 2, offset: 2 }))).toEqual(newest.slice(2, 4));
      expect(ids(await store.list({ scriptPath: 'paged', limit: 2, offset: 4, order: 'oldest' }))).toEqual([made[4]]);
      expect(await store.list({ scriptPath: 'paged', limit: 2, offset: 5 })).toEqual([]);
    });

    it('finds ids by prefix and knows unknown ids', async () => {
      const { job } = await store.enqueue(spec({ id: 'prefixtest-123' }));
      await store.enqueue(spec({ id: 'prefixtest-456' }));
      expect(await store.matchIds('prefixtest-1', 5)).toEqual([job.id]);
      expect((await store.matchIds('prefixtest', 5)).sort()).toEqual(['prefixtest-123', 'prefixtest-456']);
      expect(await store.matchIds('zzz', 5)).toEqual([]);
      expect(await store.get('no-such-job')).toBeUndefined();
      expect(await store.readLogs('no-such-job')).toEqual([]);
    });

    it('stores tokens by hash', async () => {
      expect(await store.countTokens()).toBe(0);
      const h1: TokenRecord = {
        tokenHash: 'h1',
        prefix: 'mr_abcdefg',
        workspace: 'w1',
        scope: 'worker',
        label: 'ci',
        createdAt: 5,
        fromEnv: false,
        lastUsedAt: null,
        revokedAt: null,
      };
      await store.createToken(h1);
      expect(await store.findToken('h1')).toEqual(h1);
      expect(await store.findToken('h2')).toBeUndefined();
      expect(await store.countTokens()).toBe(1);
    });

    it('lists, revokes once, and records the last use of tokens', async () => {
      const base = { workspace: 'default', label: 'x', prefix: null, lastUsedAt: null, revokedAt: null };
      await store.createToken({ ...base, tokenHash: 'ta', scope: 'admin', createdAt: 20, fromEnv: true });
      await store.createToken({ ...base, tokenHash: 'tb', scope: 'user', createdAt: 10, fromEnv: false });
      expect((await store.listTokens()).map((t) => [t.tokenHash, t.fromEnv])).toEqual([
        ['tb', false],
        ['ta', true],
      ]);

      expect(await store.revokeToken('ta', 100)).toBe(true);
      // The first revocation stands: a second neither succeeds nor moves its time.
      expect(await store.revokeToken('ta', 200)).toBe(false);
      expect(await store.revokeToken('nope', 200)).toBe(false);
      expect(await store.findToken('ta')).toMatchObject({ revokedAt: 100 });
      expect(await store.findToken('tb')).toMatchObject({ revokedAt: null });
      expect(await store.countTokens()).toBe(2);

      await store.touchToken('tb', 500);
      await store.touchToken('tb', 300); // a late write of an earlier use does not move it back
      expect(await store.findToken('tb')).toMatchObject({ lastUsedAt: 500 });
    });

    it('keeps track of live workers and their jobs', async () => {
      await store.touchWorker({ id: 'wa', workspace: 'default', tags: ['cpu'], hostname: 'host-a' }, 1000);
      await store.touchWorker({ id: 'wb', workspace: 'default', tags: 'all', hostname: 'host-b' }, 1000);
      await store.touchWorker({ id: 'wc', workspace: 'other', tags: ['x'], hostname: 'host-c' }, 5000);
      await store.touchWorker({ id: 'wa', workspace: 'default', tags: ['cpu', 'gpu'], hostname: 'host-a' }, 5000);
      const { job } = await store.enqueue(spec({ tag: 'cpu' }));
      await store.claim({ workerId: 'wa', tags: ['cpu'], limit: 1, leaseMs: 1000 });
      const live = await store.listWorkers('default', 2000);
      expect(live).toEqual([
        {
          id: 'wa',
          workspace: 'default',
          tags: ['cpu', 'gpu'],
          hostname: 'host-a',
          startedAt: 1000,
          lastSeen: 5000,
          jobs: [job.id],
        },
      ]);
      expect((await store.listWorkers('default', 0)).map((w) => w.id)).toEqual(['wa', 'wb']);
    });

    it('records a flow job’s flow status, the last one written standing', async () => {
      const { job } = await store.enqueue(spec({ kind: 'flow', scriptPath: 'f/flow', entrypoint: 'flow' }));
      expect(await store.getFlowStatus(job.id)).toBeUndefined();
      await store.setFlowStatus(job.id, { step: 0, modules: [{ id: 'a', type: 'InProgress' }] });
      await store.setFlowStatus(job.id, {
        step: 1,
        modules: [
          { id: 'a', type: 'Success' },
          { id: 'b', type: 'InProgress' },
        ],
      });
      expect(await store.getFlowStatus(job.id)).toEqual({
        step: 1,
        modules: [
          { id: 'a', type: 'Success' },
          { id: 'b', type: 'InProgress' },
        ],
      });
      const { job: other } = await store.enqueue(spec({ kind: 'flow', scriptPath: 'f/flow', entrypoint: 'flow' }));
      expect(await store.getFlowStatus(other.id)).toBeUndefined();
    });

    scheduleConformance(() => store);
  });
  eventsConformance(name, makeStore);
}
