import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmbeddedEngine } from '../../lib/engine/embedded.js';
import { ApiClient } from '../../lib/http/api-client.js';
import { resolveScript } from '../../lib/loader/paths.js';
import { decode } from '../../lib/serialize.js';
import { startServer } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { ClaimAtOnce, Store } from '../../lib/store/store.js';
import type { JobSpec, Json } from '../../lib/types.js';
import { HttpBackend } from '../../lib/worker/http-backend.js';
import { Worker, type WorkerOptions } from '../../lib/worker/worker.js';
import { openTestEngine, REPO_ROOT, tempDb } from '../helpers/engine.js';

/**
 * A child its worker takes at once runs before anything of it is written; a short success is
 * written once, finished (Store.enqueue's `claim.ended`). A child that outlives its hold, logs,
 * fails, or is called by a parent's later attempt is written running first, as before. The
 * store's writes are watched.
 */

const FIXTURE = '__tests__/fixtures/unrecorded';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Each enqueue (with its claim) and each end the store was asked to write, by job id. */
interface Writes {
  enqueued: { spec: JobSpec; claim?: ClaimAtOnce }[];
  finished: string[];
  started: string[];
  /** Resolves with the id of the first job enqueued running (taken, not ended) for `entrypoint`. */
  recordedRunning(entrypoint: string): Promise<string>;
}

function watchWrites(store: Store): Writes {
  const writes: Writes = {
    enqueued: [],
    finished: [],
    started: [],
    recordedRunning: () => Promise.reject(new Error('not watched yet')),
  };
  const running = new Map<string, (id: string) => void>();
  const enqueue = store.enqueue.bind(store);
  store.enqueue = async (spec, claim, held) => {
    writes.enqueued.push({ spec, claim });
    const result = await enqueue(spec, claim, held);
    if (result.job.status === 'running' && claim && !claim.ended) running.get(spec.entrypoint)?.(result.job.id);
    return result;
  };
  writes.recordedRunning = (entrypoint) => new Promise((resolve) => running.set(entrypoint, resolve));
  const finish = store.finish.bind(store);
  store.finish = (jobId, ...rest) => {
    writes.finished.push(jobId);
    return finish(jobId, ...rest);
  };
  const markStarted = store.markStarted.bind(store);
  store.markStarted = (jobId, ...rest) => {
    writes.started.push(jobId);
    return markStarted(jobId, ...rest);
  };
  return writes;
}

function embedded(options: Partial<WorkerOptions> = {}) {
  const engine: EmbeddedEngine = openTestEngine({ worker: false });
  const writes = watchWrites(engine.store);
  const worker = new Worker({
    backend: engine.coordinator,
    root: REPO_ROOT,
    id: 'w1',
    tags: ['default'],
    threads: 1,
    concurrency: 2,
    ...options,
  });
  cleanups.push(
    () => engine.close(),
    () => worker.close(),
  );
  const run = async (args: Record<string, Json>, over: Partial<JobSpec> = {}) => {
    const root = await engine.coordinator.submit({ ...rootSpec(args), ...over });
    return { id: root.id, done: engine.wait(root.id) };
  };
  return { engine, writes, run };
}

function rootSpec(args: Record<string, Json>): JobSpec {
  const script = resolveScript(REPO_ROOT, FIXTURE);
  return { kind: 'script', scriptPath: script.path, scriptHash: script.hash, entrypoint: 'main', args, tag: 'default' };
}

/** An HTTP server whose requests wait until the test answers them: `arrived` resolves at each request. */
async function gate() {
  const waiting: ServerResponse[] = [];
  let arrived: () => void = () => {};
  const server = createServer((_req: IncomingMessage, res) => {
    waiting.push(res);
    arrived();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => {
    for (const res of waiting) res.destroy();
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    next: () => new Promise<void>((r) => (arrived = r)),
    open: (text: string) => waiting.splice(0).forEach((res) => res.end(text)),
  };
}

describe('children recorded with their end', () => {
  it('a short child is written once, finished, with its attempt and times; no start or end is written apart', async () => {
    const { engine, writes, run } = embedded();
    const { id, done } = await run({ mode: 'quick' });
    const root = await done;
    expect(decode(root.result!)).toBe(8);
    const quick = (await engine.descendants(id)).filter((c) => c.entrypoint === 'quick');
    expect(quick).toHaveLength(3);
    for (const child of quick) {
      const writesOf = writes.enqueued.filter((w) => w.spec.id === child.id);
      expect(writesOf).toHaveLength(1);
      expect(writesOf[0].claim?.ended).toMatchObject({ parentAttempt: 1 });
      expect(writes.finished).not.toContain(child.id);
      expect(writes.started).not.toContain(child.id);
      expect(child).toMatchObject({ status: 'success', attempt: 1, worker: 'w1', parentJob: id, rootJob: id });
      expect(child.createdAt).toBeLessThanOrEqual(child.startedAt!);
      expect(child.startedAt).toBeLessThanOrEqual(child.completedAt!);
      expect(await engine.store.attempts(child.id)).toMatchObject([
        { attempt: 1, worker: 'w1', status: 'success', startedAt: child.startedAt, completedAt: child.completedAt },
      ]);
    }
    // The parent's wait was answered from that one write: the children ended in call order.
    const inOrder = [...quick].sort((a, b) => a.createdAt - b.createdAt).map((c) => decode(c.result!));
    expect(inOrder).toEqual([2, 4, 8]);
  });

  it('a child that outlives its hold is written running while it runs, then ends as any child does', async () => {
    const { engine, writes, run } = embedded();
    const g = await gate();
    const arrived = g.next();
    const recorded = writes.recordedRunning('gated');
    const { id, done } = await run({ mode: 'gated', url: g.url });
    await arrived;
    const childId = await recorded;
    expect(await engine.store.get(childId)).toMatchObject({
      status: 'running',
      worker: 'w1',
      attempt: 1,
      parentJob: id,
    });
    g.open('open');
    expect(decode((await done).result!)).toBe('gate said open');
    expect(writes.finished).toContain(childId);
    expect(await engine.store.get(childId)).toMatchObject({ status: 'success', attempt: 1 });
  });

  it('children are recorded in the order they were called, whichever ends first', async () => {
    const { engine, writes, run } = embedded();
    const g = await gate();
    const arrived = g.next();
    const { id, done } = await run({ mode: 'parallel', url: g.url });
    await arrived;
    g.open('second');
    expect(decode((await done).result!)).toEqual(['gate said second', 10]);
    const children = await engine.store.list({ parentJob: id, limit: 10, order: 'oldest' });
    expect(children.map((c) => c.entrypoint)).toEqual(['gated', 'quick']);
    // `quick` ended (or was queued) first: `gated`, called before it, was written running ahead of it.
    const order = writes.enqueued.filter((w) => w.spec.parentJob === id).map((w) => w.spec.entrypoint);
    expect(order).toEqual(['gated', 'quick']);
    expect(writes.enqueued.find((w) => w.spec.entrypoint === 'gated')!.claim?.ended).toBeUndefined();
  });

  it('a child that prints is written running before its line, and its line reaches its parent', async () => {
    const { engine, writes, run } = embedded();
    const { id, done } = await run({ mode: 'chatty' });
    expect(decode((await done).result!)).toBe(2);
    const [child] = await engine.descendants(id);
    expect(writes.enqueued.filter((w) => w.spec.id === child.id).map((w) => w.claim?.ended)).toEqual([undefined]);
    expect(writes.finished).toContain(child.id);
    const lines: string[] = [];
    for await (const l of engine.logs(id)) lines.push(l.line);
    expect(lines.some((l) => l.endsWith('chatty 1'))).toBe(true);
  });

  it('a child that fails is written running, then retried as before; its caller gets the second attempt', async () => {
    const { engine, writes, run } = embedded();
    const { id, done } = await run({ mode: 'flaky' });
    expect(decode((await done).result!)).toBe('ok on attempt 2');
    const [child] = await engine.descendants(id);
    expect(writes.enqueued.filter((w) => w.spec.id === child.id).map((w) => w.claim?.ended)).toEqual([undefined]);
    expect((await engine.store.attempts(child.id)).map((a) => a.status)).toEqual(['failure', 'success']);
  });

  it("a parent's later attempt records its new children first, and replays the ones it made before", async () => {
    const { engine, writes, run } = embedded();
    const { id, done } = await run({ mode: 'retried' }, { retry: { attempts: 2, delay: 0 } });
    const root = await done;
    expect(root).toMatchObject({ status: 'success', attempt: 2 });
    expect(decode(root.result!)).toBe(2 + 4);
    const children = await engine.descendants(id);
    expect(children.map((c) => decode(c.args)).sort()).toEqual([[1], [2]]);
    const [first, second] = [1, 2].map((n) => children.find((c) => (decode(c.args) as number[])[0] === n)!);
    // quick(1) ran once, on attempt 1, recorded with its end; attempt 2 found it recorded.
    expect(writes.enqueued.filter((w) => w.spec.id === first.id).map((w) => w.claim?.ended?.parentAttempt)).toEqual([
      1,
    ]);
    // quick(2), called by attempt 2 only, was written running before it ran.
    expect(writes.enqueued.filter((w) => w.spec.id === second.id).map((w) => w.claim?.ended)).toEqual([undefined]);
    expect(writes.finished).toContain(second.id);
  });

  it('a child unrecorded when its parent is canceled is stopped, and nothing of it is written', async () => {
    // A long hold: the child is still unrecorded when the cancel comes.
    const { engine, writes, run } = embedded({ startHoldMs: 3_600_000, stopGraceMs: 50 });
    const g = await gate();
    const arrived = g.next();
    const { id, done } = await run({ mode: 'gated', url: g.url });
    await arrived;
    await engine.cancel(id, 'test');
    expect(await done).toMatchObject({ status: 'canceled' });
    g.open('too late');
    expect(await engine.descendants(id)).toEqual([]);
    expect(writes.enqueued.filter((w) => w.spec.entrypoint === 'gated')).toEqual([]);
  });

  it('through a server: one task call carries the child and its end; no report and no wait for it', async () => {
    const { store, writes, paths, coordinator } = await throughServer();
    const root = await coordinator.submit(rootSpec({ mode: 'quick' }));
    const done = await coordinator.waitFinished(root.id);
    expect(decode(done.result!)).toBe(8);
    const children = await store.descendants(root.id);
    expect(children.map((c) => [c.status, c.worker])).toEqual([
      ['success', 'hw1'],
      ['success', 'hw1'],
      ['success', 'hw1'],
    ]);
    for (const child of children) {
      expect(writes.enqueued.filter((w) => w.spec.id === child.id).map((w) => w.claim?.ended?.parentAttempt)).toEqual([
        1,
      ]);
      expect(writes.finished).not.toContain(child.id);
    }
    // Three task calls; the worker's reports are the root's alone, and it waited on none of its children.
    expect(paths.filter((p) => p.startsWith('jobs/run/workflow_as_code/'))).toHaveLength(3);
    expect(paths.filter((p) => p === 'worker/wait')).toEqual([]);
  });

  it('through a server: a child past its hold is sent running, created when its worker took it', async () => {
    const { store, writes, coordinator } = await throughServer();
    const g = await gate();
    const arrived = g.next();
    const recorded = writes.recordedRunning('gated');
    const root = await coordinator.submit(rootSpec({ mode: 'gated', url: g.url }));
    await arrived;
    const childId = await recorded;
    const sent = writes.enqueued.find((w) => w.spec.id === childId)!;
    expect(sent.claim).toMatchObject({ workerId: 'hw1' });
    expect(sent.claim?.ended).toBeUndefined();
    expect(await store.get(childId)).toMatchObject({
      status: 'running',
      worker: 'hw1',
      createdAt: sent.claim!.takenAt,
      scheduledFor: sent.claim!.takenAt,
    });
    g.open('open');
    expect(decode((await coordinator.waitFinished(root.id)).result!)).toBe('gate said open');
    expect(writes.finished).toContain(childId);
  });
});

/** A server on SQLite whose store's writes are watched, and one worker, `hw1`, whose requests are. */
async function throughServer() {
  const store = new SqliteStore({ file: tempDb() });
  const writes = watchWrites(store);
  const server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: 'mr_unrecorded_admin' });
  cleanups.push(
    () => store.close(),
    () => server.close(),
  );
  const client = new ApiClient({ server: server.url, token: 'mr_unrecorded_admin' });
  const paths: string[] = [];
  const json = client.json.bind(client);
  client.json = (async (method, path, body, signal) => {
    paths.push(path.replace(/.*\/api\/w\/default\//, ''));
    return json(method, path, body, signal);
  }) as typeof client.json;
  const backend = new HttpBackend(client, ['default']);
  const worker = new Worker({ backend, root: REPO_ROOT, id: 'hw1', tags: ['default'], threads: 1, concurrency: 2 });
  cleanups.push(
    () => backend.close(),
    () => worker.close(),
  );
  return { store, writes, paths, coordinator: server.coordinator };
}
