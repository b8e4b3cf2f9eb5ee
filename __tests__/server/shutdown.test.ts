import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobRecord } from '../../lib/types.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN } from '../helpers/processes.js';

/** Re-reads `read()` until `done` holds for what it returned (a condition, not a time). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function submit(url: string, args: unknown): Promise<string> {
  const res = await request(`${url}/api/w/default/jobs/run/p/__tests__/fixtures/nap`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  expect(res.statusCode).toBe(201);
  return res.body.text();
}

describe('graceful shutdown', () => {
  it('SIGTERM: a worker finishes its running 2 s job, releases the 10 it claimed ahead at once (another worker runs them long before the lease), exits 0; nothing lost or run twice', async () => {
    const server = await startServerProcess();
    cleanups.push(() => server.proc.kill());
    const reader = new SqliteStore({ file: server.db, readOnlyWhenNotWritable: true });
    cleanups.push(() => reader.close());
    // One slot, ten claimed ahead, and a lease far longer than the test: a job left to its lease would not run again in time.
    const first = await startWorkerProcess(server.url, [
      '--concurrency',
      '1',
      '--prefetch',
      '10',
      '--lease-ms',
      '120000',
      '--grace',
      '30s',
    ]);
    cleanups.push(() => first.proc.kill('SIGKILL'));
    const long = await submit(server.url, { ms: 2000, label: 'long' });
    await until(
      () => reader.readLogs(long),
      (lines) => lines.some((l) => l.line === 'nap long start'),
    );
    const quick: string[] = [];
    for (let i = 0; i < 10; i++) quick.push(await submit(server.url, { ms: 0, label: `q${i}` }));
    // All ten claimed by the first worker (running, not started), none started: its one slot is busy.
    await until(
      () => reader.list({ ids: quick, limit: 20 }),
      (jobs) =>
        jobs.length === 10 &&
        jobs.every((j) => j.status === 'running' && j.worker === first.id && j.startedAt === null),
    );
    const second = await startWorkerProcess(server.url, ['--concurrency', '4']);
    cleanups.push(() => second.proc.kill());

    const stoppedAt = Date.now();
    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);
    expect(first.proc.output()).toMatch(/stopped \(released 10 claimed ahead, 0 still running\)/);

    const done = await until(
      () => reader.list({ ids: [long, ...quick], limit: 20 }),
      (jobs) => jobs.every((j) => j.status === 'success'),
    );
    const byId = new Map<string, JobRecord>(done.map((j) => [j.id, j]));
    // The long job finished where it ran, once.
    expect(byId.get(long)).toMatchObject({ status: 'success', worker: first.id, attempt: 1 });
    expect((await reader.attempts(long)).map((a) => a.status)).toEqual(['success']);
    expect((await reader.readLogs(long)).map((l) => l.line)).toEqual(['nap long start', 'nap long end']);
    for (const id of quick) {
      const job = byId.get(id)!;
      expect(job.worker).toBe(second.id);
      // Released unstarted by the first worker, run once by the second.
      const attempts = await reader.attempts(id);
      expect(attempts.map((a) => [a.worker, a.status, a.startedAt === null])).toEqual([
        [first.id, 'failure', true],
        [second.id, 'success', false],
      ]);
      expect(attempts[0].error?.code).toBe('RELEASED');
      expect((await reader.readLogs(id)).map((l) => l.line)).toEqual([
        `nap ${job.args && (job.args as { label: string }).label} start`,
        `nap ${(job.args as { label: string }).label} end`,
      ]);
      // Picked up at once: well within a second of the release on an idle machine; the lease would have taken two minutes.
      expect(attempts[1].claimedAt - stoppedAt).toBeLessThan(5000);
    }
  });

  it('SIGTERM past the grace period: the running job is stopped and released, runs again elsewhere, and the worker exits 0', async () => {
    const server = await startServerProcess();
    cleanups.push(() => server.proc.kill());
    const reader = new SqliteStore({ file: server.db, readOnlyWhenNotWritable: true });
    cleanups.push(() => reader.close());
    const first = await startWorkerProcess(server.url, [
      '--concurrency',
      '1',
      '--lease-ms',
      '120000',
      '--grace',
      '100ms',
    ]);
    cleanups.push(() => first.proc.kill('SIGKILL'));
    const id = await submit(server.url, { ms: 3000, label: 'slow' });
    await until(
      () => reader.readLogs(id),
      (lines) => lines.some((l) => l.line === 'nap slow start'),
    );
    first.proc.child.kill('SIGTERM');
    expect(await first.proc.exited).toBe(0);
    expect(first.proc.output()).toMatch(/stopped \(released 0 claimed ahead, 1 still running\)/);
    const second = await startWorkerProcess(server.url, ['--concurrency', '1']);
    cleanups.push(() => second.proc.kill());
    const job = await until(
      () => reader.get(id),
      (j) => j?.status === 'success',
    );
    expect(job?.worker).toBe(second.id);
    const attempts = await reader.attempts(id);
    expect(attempts.map((a) => [a.worker, a.status])).toEqual([
      [first.id, 'failure'],
      [second.id, 'success'],
    ]);
    expect(attempts[0].error?.code).toBe('RELEASED');
  });

  it('a server on SIGTERM answers a waiting long poll at once (an empty claim) and exits 0', async () => {
    const server = await startServerProcess();
    cleanups.push(() => server.proc.kill());
    // A worker's claim long poll, waiting for a job that never comes.
    const poll = request(`${server.url}/api/w/default/worker/claim`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        worker_id: 'w-poll',
        tags: ['default'],
        hostname: 'test',
        limit: 1,
        lease_ms: 30000,
        wait_ms: 60000,
      }),
    });
    await until(
      async () => (await request(`${server.url}/healthz`)).statusCode,
      (s) => s === 200,
    );
    server.proc.child.kill('SIGTERM');
    const answer = await poll;
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.json()).toMatchObject({ jobs: [] });
    expect(await server.proc.exited).toBe(0);
  });

  it('millrace dev drains its worker and closes its server on SIGTERM', async () => {
    const dev = startMillrace(['dev', '--port', '0', '--db', ':memory:', '--grace', '5s']);
    cleanups.push(() => dev.kill('SIGKILL'));
    await dev.waitFor(/millrace dev on http/);
    dev.child.kill('SIGTERM');
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toMatch(/worker stopped \(released 0 claimed ahead, 0 still running\)/);
  });
});
