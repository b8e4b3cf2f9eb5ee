import { afterEach, describe, expect, it } from '@jest/globals';
import { ApiClient, type ApiError } from '../../lib/http/api-client.js';
import { resolveScript } from '../../lib/loader/paths.js';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobRecord, NewLogLine } from '../../lib/types.js';
import { HttpBackend } from '../../lib/worker/http-backend.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';

/**
 * A worker's reports against a real server: one refused event loses no other, and reports
 * larger than the server's body limit arrive in several requests.
 */

const TOKEN = 'mr_worker_report_admin';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(options: { bodyLimit?: number } = {}) {
  const store = new SqliteStore({ file: tempDb() });
  cleanups.push(() => store.close());
  const server: ServerHandle = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN, ...options });
  cleanups.push(() => server.close());
  const backend = new HttpBackend(new ApiClient({ server: server.url, token: TOKEN }), 'all');
  cleanups.push(() => backend.close());
  const script = resolveScript(REPO_ROOT, '__tests__/fixtures/values');
  /** `n` jobs, claimed (running) by the backend, as worker w1. */
  const running = async (n: number): Promise<JobRecord[]> => {
    for (let i = 0; i < n; i++) {
      await server.coordinator.submit({
        kind: 'script',
        scriptPath: script.path,
        scriptHash: script.hash,
        entrypoint: 'main',
        args: {},
        tag: 'default',
        workspace: 'default',
      });
    }
    return backend.claim(
      { workerId: 'w1', tags: 'all', workspace: 'default', limit: n, leaseMs: 60_000 },
      new AbortController().signal,
    );
  };
  return { store, server, backend, running };
}

const lines = (n: number, text: (i: number) => string): NewLogLine[] =>
  Array.from({ length: n }, (_, i) => ({ ts: i, stream: 'stdout', line: text(i) }));

describe("a worker's reports", () => {
  it('one refused event (a job canceled meanwhile) loses none of the others in its request', async () => {
    const { store, server, backend, running } = await setup();
    const [a, gone, b] = await running(3);
    // Canceled on the server: the worker still thinks it holds it, and reports for it.
    await server.coordinator.cancel(gone.id, { reason: 'test', by: 'test' });
    // Made in the same tick, so they go in one request, the refused one between the good ones.
    const results = await Promise.allSettled([
      backend.appendLogs(
        a.id,
        lines(3, (i) => `a ${i}`),
      ),
      backend.appendLogs(
        gone.id,
        lines(1, () => 'lost'),
      ),
      backend.appendLogs(
        b.id,
        lines(3, (i) => `b ${i}`),
      ),
      backend.finish(b.id, { status: 'success', result: 'b done' }, Date.now()),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const refused = (results[1] as PromiseRejectedResult).reason as ApiError;
    expect(refused).toMatchObject({ status: 409, code: 'LEASE_NOT_HELD' });
    expect((await store.readLogs(gone.id)).map((l) => l.line)).toEqual([]);
    expect((await store.readLogs(a.id)).map((l) => l.line)).toEqual(['a 0', 'a 1', 'a 2']);
    expect((await store.readLogs(b.id)).map((l) => l.line)).toEqual(['b 0', 'b 1', 'b 2']);
    expect(await store.get(b.id)).toMatchObject({ status: 'success', result: 'b done' });
  });

  it('reports over a lower body limit go in halves; a result the server refuses fails its job once', async () => {
    const { store, backend, running } = await setup({ bodyLimit: 64 * 1024 });
    const jobs = await running(4);
    const big = (i: number) => `${i} ${'x'.repeat(1000)}`;
    // 4 × 40 KB of lines, and a 100 KB result: no request of them all fits 64 KiB at once.
    const sent = await Promise.allSettled([
      ...jobs.map((j) => backend.appendLogs(j.id, lines(40, big))),
      backend.finish(jobs[0].id, { status: 'success', result: 'r'.repeat(100_000) }, Date.now()),
      backend.finish(jobs[1].id, { status: 'success', result: 'small' }, Date.now()),
    ]);
    expect(sent.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual(
      Array(6).fill('fulfilled'),
    );
    for (const j of jobs)
      expect((await store.readLogs(j.id)).map((l) => l.line)).toEqual(lines(40, big).map((l) => l.line));
    const refused = await store.get(jobs[0].id);
    expect(refused).toMatchObject({ status: 'failure', attempt: 1, error: { code: 'TOO_LARGE' } });
    expect(refused!.error!.message).toMatch(
      /^The result of job \S+ is 100002 bytes as JSON, over the limit of 65536 bytes/,
    );
    expect(await store.attempts(jobs[0].id)).toHaveLength(1);
    expect(await store.get(jobs[1].id)).toMatchObject({ status: 'success', result: 'small' });
  });
});
