import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { apiCaller, startServerProcess, startWorkerProcess, TEST_TOKEN } from '../helpers/processes.js';
import { expectExitIsolated, expectSizesKept } from '../helpers/limits.js';

/**
 * What one job can do to others, over a server and an HTTP worker (one executor thread): a
 * result over the limit fails its job once, a job's many lines and a too long line reach the
 * server whatever the body limit, one refused report loses no other; process.exit fails only
 * its job; a timeout longer than setTimeout can hold does not fire at once.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serverAndWorker() {
  const server = await startServerProcess();
  cleanups.push(() => server.proc.kill());
  const worker = await startWorkerProcess(server.url);
  cleanups.push(() => worker.proc.kill());
  const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
  cleanups.push(() => engine.close());
  return { server, worker, engine, api: apiCaller(() => server.url) };
}

/** A server of the test's that answers every request at once, counting them. */
async function echo(): Promise<{ url: string; requests: () => number }> {
  let n = 0;
  const server = createServer((_req, res) => {
    n++;
    res.end('answered');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests: () => n };
}

describe('limits on a server with an HTTP worker', () => {
  it('fails an 11 MiB result once with TooLargeError; 50,000 lines and a cut long line arrive whole beside it', async () => {
    const { worker, engine } = await serverAndWorker();
    await expectSizesKept(engine);
    // No report of the worker was refused.
    expect(worker.proc.output()).not.toMatch(/failed: /);
  }, 240_000);

  it('runs a task with a timeout of 2,200,000 s, and a run with ?timeout=2200000, to their end', async () => {
    const { engine, api } = await serverAndWorker();
    const gate = await echo();
    const id = await api<string>('POST', `/api/w/default/jobs/run/p/__tests__/fixtures/long-timeout?timeout=2200000`, {
      url: gate.url,
    });
    const root = await engine.wait(id);
    expect({ status: root.status, result: root.result, error: root.error?.message }).toEqual({
      status: 'success',
      result: 'patient: answered',
      error: undefined,
    });
    expect(root.timeout).toBe(2_200_000);
    const [child] = await engine.descendants(id);
    expect(child).toMatchObject({ entrypoint: 'patient', status: 'success', timeout: 2_200_000, attempt: 1 });
    expect(gate.requests()).toBe(1);
  });

  it('fails the job that called process.exit(1); a run sharing its thread completes, its child not canceled', async () => {
    const { engine } = await serverAndWorker();
    await expectExitIsolated(engine, (c) => cleanups.push(c));
  });
});
