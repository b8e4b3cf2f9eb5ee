import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Coordinator } from '../lib/engine/coordinator.js';
import { scriptJobSpec } from '../lib/loader/script-job.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { WorkerBackend } from '../lib/worker/backend.js';
import { HeldStarts } from '../lib/worker/held-starts.js';
import { Worker } from '../lib/worker/worker.js';
import { REPO_ROOT } from './helpers/engine.js';
import { overriding } from './helpers/overriding.js';

/**
 * A worker holds a job's start back a moment (worker/held-starts.ts): a short job's start is
 * written with its end, a longer one's when its hold runs out, while it runs.
 */
describe('held starts', () => {
  it('hands a start taken before its hold ran out to the end, and writes none of its own', async () => {
    const written: [string, number][] = [];
    const starts = new HeldStarts(async (id, at) => void written.push([id, at]), fail, 3_600_000);
    starts.hold('a', 10);
    starts.hold('b', 11);
    expect(starts.take('a')).toBe(10);
    expect(starts.take('a')).toBeUndefined();
    starts.flush('b'); // b ends some other way: written now
    starts.flush('c'); // nothing held: nothing written
    expect(written).toEqual([['b', 11]]);
  });

  it('writes each start whose hold ran out, in order, and a failed write is warned of', async () => {
    const written: string[] = [];
    const warned: string[] = [];
    let allWritten!: () => void;
    const three = new Promise<void>((resolve) => (allWritten = resolve));
    const starts = new HeldStarts(
      async (id) => {
        if (id === 'bad') throw new Error('the store is down');
        written.push(id);
        if (written.length === 3) allWritten();
      },
      (what, err) => warned.push(`${what}: ${(err as Error).message}`),
      1,
    );
    for (const id of ['x', 'bad', 'y', 'z']) starts.hold(id, 1);
    await three;
    expect(written).toEqual(['x', 'y', 'z']);
    expect(warned).toEqual(['recording the start of bad: the store is down']);
  });

  it('refuses a hold that is not a number of milliseconds', () => {
    for (const bad of [-1, Number.NaN, Infinity])
      expect(() => new HeldStarts(async () => {}, fail, bad)).toThrow(
        new RegExp(`startHoldMs: expected a number of milliseconds ≥ 0, got ${String(bad)}`),
      );
  });

  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('a job that runs on has its start recorded while it runs, not with its end; every job’s start is recorded', async () => {
    const store = new SqliteStore({ file: ':memory:' });
    const coordinator = new Coordinator(store);
    const finishes: { jobId: string; startedAt: number | undefined }[] = [];
    const backend: WorkerBackend = overriding(coordinator, {
      finish: (...args: Parameters<WorkerBackend['finish']>) => {
        finishes.push({ jobId: args[0], startedAt: args[3] });
        return coordinator.finish(...args);
      },
    });
    const worker = new Worker({ backend, root: REPO_ROOT, tags: 'all', concurrency: 2, threads: 1 });
    // The held task blocks on this server until the test answers.
    let held!: (res: ServerResponse) => void;
    const asked = new Promise<ServerResponse>((resolve) => (held = resolve));
    const http = createServer((_req, res) => held(res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    close = async () => {
      http.closeAllConnections();
      http.close();
      await worker.close();
      await coordinator.close();
      await store.close();
    };

    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
    const root = await coordinator.submit(scriptJobSpec(REPO_ROOT, { path: '__tests__/fixtures/hold', args: { url } }));
    const res = await asked;
    const [child] = await store.list({ parentJob: root.id, limit: 2 });
    // Running, blocked: its start is written once its hold runs out (a change of the job).
    for (;;) {
      const change = coordinator.nextChange(child.id);
      const now = await store.get(child.id);
      if (now!.startedAt !== null) {
        change.cancel();
        break;
      }
      await change.promise;
    }
    const running = (await store.get(child.id))!;
    expect(running).toMatchObject({ status: 'running' });
    res.end('released');
    const done = await coordinator.waitFinished(root.id);
    expect(done).toMatchObject({ status: 'success' });
    const childDone = (await store.get(child.id))!;
    expect(childDone.startedAt).toBe(running.startedAt);
    expect(finishes.find((f) => f.jobId === child.id)?.startedAt).toBeUndefined();
    // Every job's start is recorded, its own or with its end, on the job and its attempt.
    for (const job of [done, childDone]) {
      const [attempt] = await store.attempts(job.id);
      expect(job.startedAt).not.toBeNull();
      expect(job.startedAt!).toBeLessThanOrEqual(job.completedAt!);
      expect(attempt.startedAt).toBe(job.startedAt);
      expect(job.durationMs).toBe(job.completedAt! - job.startedAt!);
    }
  });
});

it('a short job’s start is written with its end (a hold longer than the job)', async () => {
  const store = new SqliteStore({ file: ':memory:' });
  const coordinator = new Coordinator(store);
  const calls: string[] = [];
  const backend: WorkerBackend = overriding(coordinator, {
    started: (jobId: string, at: number) => {
      calls.push(`started ${jobId}`);
      return coordinator.started(jobId, at);
    },
    finish: (...args: Parameters<WorkerBackend['finish']>) => {
      calls.push(`finish ${args[0]}${args[3] === undefined ? '' : ' with its start'}`);
      return coordinator.finish(...args);
    },
  });
  const worker = new Worker({
    backend,
    root: REPO_ROOT,
    tags: 'all',
    concurrency: 1,
    threads: 1,
    startHoldMs: 3_600_000,
  });
  try {
    const job = await coordinator.submit(
      scriptJobSpec(REPO_ROOT, { path: '__tests__/fixtures/say', args: { word: 'x' } }),
    );
    const done = await coordinator.waitFinished(job.id);
    expect(calls).toEqual([`finish ${job.id} with its start`]);
    expect(done.startedAt).not.toBeNull();
    expect(done.durationMs).toBe(done.completedAt! - done.startedAt!);
    expect((await store.attempts(job.id))[0].startedAt).toBe(done.startedAt);
  } finally {
    await worker.close();
    await coordinator.close();
    await store.close();
  }
});

function fail(what: string, err: unknown): never {
  throw new Error(`unexpected: ${what}: ${String(err)}`);
}
