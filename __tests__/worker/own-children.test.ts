import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiClient } from '../../lib/http/api-client.js';
import { resolveScript } from '../../lib/loader/paths.js';
import { decode } from '../../lib/serialize.js';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobRecord, Json } from '../../lib/types.js';
import { HttpBackend } from '../../lib/worker/http-backend.js';
import { Worker } from '../../lib/worker/worker.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';

/**
 * A child this worker took as it was recorded is waited on by the worker itself: the wait is
 * answered when the server acknowledges the child's success, with no long poll. A child that
 * leaves the worker any other way (a failure the server retries, a cancel) is waited on by
 * long poll, and its caller hears of its end as recorded. The worker's requests are watched.
 */

const TOKEN = 'mr_own_children_admin';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A server on SQLite and one worker per tag list; the ids each worker/wait request named. */
async function cluster(workerTags: string[][]) {
  const store = new SqliteStore({ file: tempDb() });
  cleanups.push(() => store.close());
  const server: ServerHandle = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN });
  cleanups.push(() => server.close());
  const waitedOn = new Set<string>();
  for (const [i, tags] of workerTags.entries()) {
    const client = new ApiClient({ server: server.url, token: TOKEN });
    const json = client.json.bind(client);
    client.json = (async (method, path, body, signal) => {
      if (path.endsWith('/worker/wait')) for (const id of (body as { ids: string[] }).ids) waitedOn.add(id);
      return json(method, path, body, signal);
    }) as typeof client.json;
    const backend = new HttpBackend(client, tags);
    const worker = new Worker({
      backend,
      root: REPO_ROOT,
      id: `w-${i}`,
      tags,
      threads: 1,
      concurrency: 2,
      heartbeatMs: 50,
    });
    cleanups.push(() => backend.close());
    cleanups.push(() => worker.close());
  }
  const submit = (path: string, args: { [key: string]: Json }) => {
    const script = resolveScript(REPO_ROOT, path);
    return server.coordinator.submit({
      kind: 'script',
      scriptPath: script.path,
      scriptHash: script.hash,
      entrypoint: 'main',
      args,
      tag: 'default',
      workspace: 'default',
    });
  };
  return { store, server, waitedOn, submit };
}

describe("a worker's own children", () => {
  it('waits on the children it took without a long poll, and on the others by long poll', async () => {
    const { store, server, waitedOn, submit } = await cluster([['default'], ['other']]);
    const root = await submit('__tests__/fixtures/sequence', { n: 5 });
    const done = await server.coordinator.waitFinished(root.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe(10);
    const children = await store.descendants(root.id);
    const nexts = children.filter((c) => c.entrypoint === 'next');
    expect(nexts.map((c) => [c.status, c.worker])).toEqual(Array(5).fill(['success', 'w-0']));
    for (const child of nexts) expect(waitedOn.has(child.id)).toBe(false);
    // Of a tag its worker does not serve: queued, claimed by the other worker, waited on by long poll.
    const other = children.find((c) => c.entrypoint === 'elsewhere')!;
    expect(other.worker).toBe('w-1');
    expect(waitedOn.has(other.id)).toBe(true);
  });

  it('hands the wait on a child it took to the long poll when the child fails and is retried', async () => {
    const { store, server, waitedOn, submit } = await cluster([['default']]);
    const root = await submit('__tests__/fixtures/own-retry', {});
    const done = await server.coordinator.waitFinished(root.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe('ok on attempt 2');
    const [flaky] = await store.descendants(root.id);
    expect((await store.attempts(flaky.id)).map((a) => [a.attempt, a.status, a.worker])).toEqual([
      [1, 'failure', 'w-0'],
      [2, 'success', 'w-0'],
    ]);
    expect(waitedOn.has(flaky.id)).toBe(true);
  });

  it('hands the wait on a child it took to the long poll when the child is canceled while it runs', async () => {
    const held: ServerResponse[] = [];
    let reached!: () => void;
    const atVictim = new Promise<void>((r) => (reached = r));
    const gate = createServer((req, res) => {
      held.push(res);
      if (req.url === '/victim') reached();
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => gate.close(r)));
    cleanups.push(() => held.forEach((res) => res.destroy()));
    const { store, server, waitedOn, submit } = await cluster([['default']]);
    const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
    const root = await submit('__tests__/fixtures/cancel', { url, n: 0 });
    await atVictim;
    const all = await store.descendants(root.id);
    const byName = (name: string) => all.find((j) => j.entrypoint === name) as JobRecord;
    // Both were taken as they were recorded: no claim, the caller's worker runs them.
    expect([byName('caller').worker, byName('victim').worker]).toEqual(['w-0', 'w-0']);
    await server.coordinator.cancel(byName('victim').id, { reason: 'stop the victim', by: 'test' });
    const done = await server.coordinator.waitFinished(root.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe(`CanceledError: Job ${byName('victim').id} was canceled: stop the victim`);
    expect(waitedOn.has(byName('victim').id)).toBe(true);
  });
});
