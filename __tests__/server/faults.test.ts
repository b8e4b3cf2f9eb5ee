import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import type { JobRecord, LogLine } from '../../lib/types.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** Fault injection with real processes: kill -9 of workers and of the server. */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function counterFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'millrace-counter-')), 'count.txt');
  writeFileSync(file, '');
  return file;
}

/** Every task body that completed, once each: 9 leaves and 3 middles. */
const EACH_ONCE = [
  ...[0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => `leaf ${i}.${j}`)),
  ...[0, 1, 2].map((i) => `middle ${i}`),
].sort();
const completedBodies = (counter: string) => readFileSync(counter, 'utf8').trim().split('\n').sort();

/** The test's gate: `onFirst` runs at the first request, which is held until `open()`. */
async function gate(onFirst: (req: IncomingMessage) => void) {
  const held: ServerResponse[] = [];
  let opened = false;
  let first = true;
  const server = createServer((req, res) => {
    if (opened) return void res.end('open');
    held.push(res);
    if (first) {
      first = false;
      onFirst(req);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    open() {
      opened = true;
      for (const res of held.splice(0)) res.end('open');
    },
  };
}

/** Re-reads `read()` until `done` holds for what it returned (a condition, not a time). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function engineFor(url: string): Promise<HttpEngine> {
  const engine = new HttpEngine({ server: url, token: TEST_TOKEN });
  cleanups.push(() => engine.close());
  return engine;
}

describe('kill -9 of the worker running the root of a 3-level workflow', () => {
  it('replays the root on the other worker; no task body that had completed runs again', async () => {
    const server = await startServerProcess(['--sweep-ms', '200', '--restart-grace-ms', '0']);
    cleanups.push(() => server.proc.kill());
    const workers = await Promise.all(
      [0, 1].map(() => startWorkerProcess(server.url, ['--lease-ms', '3000', '--concurrency', '4'])),
    );
    for (const w of workers) cleanups.push(() => w.proc.kill());
    const engine = await engineFor(server.url);
    const counter = counterFile();
    let rootId = '';
    let killed = '';
    let atKill: JobRecord[] = [];
    const g = await gate(() => {
      void (async () => {
        // Middles 0 and 2 do not wait on the gate: once they are done, part of the run is
        // recorded as completed, and the root awaits middle 1, which awaits leaf 1.1.
        atKill = await until(
          () => engine.descendants(rootId),
          (jobs) => jobs.filter((j) => j.entrypoint === 'middle' && j.status === 'success').length === 2,
        );
        const root = await engine.get(rootId);
        const victim = workers.find((w) => w.id === root!.worker)!;
        killed = victim.id;
        victim.proc.child.kill('SIGKILL');
        void victim.proc.exited.then(() => g.open());
      })();
    });
    rootId = (await engine.submit({ path: '__tests__/fixtures/three-levels', args: { gate: g.url, counter } })).id;
    const root = await engine.wait(rootId);
    expect(root).toMatchObject({ status: 'success', result: 99 });
    expect(root.worker).not.toBe(killed);
    const rootAttempts = await engine.attempts(rootId);
    expect(rootAttempts).toContainEqual(
      expect.objectContaining({
        worker: killed,
        status: 'failure',
        error: expect.objectContaining({ code: 'LEASE_EXPIRED' }),
      }),
    );
    expect(rootAttempts.at(-1)).toMatchObject({ status: 'success' });

    const descendants = await engine.descendants(rootId);
    expect(descendants).toHaveLength(12);
    const bodies = completedBodies(counter);
    expect([...new Set(bodies)]).toEqual(EACH_ONCE);
    const label = (j: JobRecord) =>
      j.entrypoint === 'leaf'
        ? `leaf ${(j.args as number[])[0]}.${(j.args as number[])[1]}`
        : `middle ${(j.args as number[])[0]}`;
    // A body that had completed when the worker died did not run again: the replayed root
    // re-attached to its calls.
    const doneAtKill = atKill.filter((j) => j.status === 'success');
    expect(doneAtKill.length).toBeGreaterThanOrEqual(8); // middles 0 and 2, their 6 leaves
    for (const j of doneAtKill) expect(bodies.filter((b) => b === label(j))).toHaveLength(1);
    for (const job of descendants) {
      const attempts = await engine.attempts(job.id);
      expect(attempts.filter((a) => a.status === 'success')).toHaveLength(1);
      // An attempt that did not succeed was lost with a worker, nothing else; only such a
      // job (in flight when its worker died) may have run its body twice.
      const lost = attempts.filter((a) => a.status !== 'success');
      for (const a of lost) expect(a).toMatchObject({ error: { code: 'LEASE_EXPIRED' } });
      if (lost.length === 0) expect(bodies.filter((b) => b === label(job))).toHaveLength(1);
    }
  });
});

describe('kill -9 of the server mid-run, then a restart', () => {
  it('loses no accepted job, acknowledged log line or result; the workers reconnect and finish the run', async () => {
    const first = await startServerProcess();
    const port = new URL(first.url).port;
    const workers = await Promise.all([0, 1].map(() => startWorkerProcess(first.url, ['--concurrency', '4'])));
    for (const w of workers) cleanups.push(() => w.proc.kill());
    let engine = await engineFor(first.url);
    const counter = counterFile();
    let reachedGate!: () => void;
    const atGate = new Promise<void>((r) => (reachedGate = r));
    const g = await gate(() => reachedGate());
    const job = await engine.submit({ path: '__tests__/fixtures/three-levels', args: { gate: g.url, counter } });
    await atGate;
    // What the server has acknowledged before it dies: the jobs, and the lines it serves.
    const seen: LogLine[] = [];
    for await (const line of engine.logs(job.id)) seen.push(line);
    expect(seen.some((l) => l.line.startsWith('leaf 1.1 starts'))).toBe(true);
    const before = new Map<string, JobRecord>((await engine.descendants(job.id)).map((j) => [j.id, j]));
    const doneBefore = [...before.values()].filter((j) => j.status === 'success');

    first.proc.child.kill('SIGKILL');
    await first.proc.exited;
    g.open(); // leaf 1.1 finishes while the server is down; its worker reports it once the server is back
    const second: Proc = startMillrace(['server', '--port', port, '--db', first.db], { MILLRACE_TOKEN: TEST_TOKEN });
    cleanups.push(() => second.kill());
    await second.waitFor(/listening on/);
    engine = await engineFor(first.url);

    const root = await engine.wait(job.id);
    expect(root).toMatchObject({ status: 'success', result: 99 });
    const after = new Map((await engine.descendants(job.id)).map((j) => [j.id, j]));
    for (const id of before.keys()) expect(after.has(id)).toBe(true);
    for (const j of doneBefore)
      expect(after.get(j.id)).toMatchObject({ status: 'success', result: j.result, completedAt: j.completedAt });
    const log = [];
    for await (const line of engine.logs(job.id)) log.push(line);
    for (const l of seen) expect(log).toContainEqual(l);
    expect(log.some((l) => l.line === 'sums 3,33,63')).toBe(true);
    // The same two workers carried on: they ran what was left.
    const ids = workers.map((w) => w.id);
    expect(ids).toContain(root.worker);
    for (const j of after.values()) expect(ids).toContain(j.worker);
    expect(completedBodies(counter)).toEqual(EACH_ONCE);
  });
});

describe('through a server and a worker process', () => {
  async function cluster(workerArgs: string[]) {
    const server = await startServerProcess();
    cleanups.push(() => server.proc.kill());
    const worker = await startWorkerProcess(server.url, workerArgs);
    cleanups.push(() => worker.proc.kill());
    return { engine: await engineFor(server.url), worker };
  }

  it('stops a task that hangs past its timeout; the jobs sharing its thread go back to the queue', async () => {
    const { engine } = await cluster(['--concurrency', '2']);
    const g = await gate(() => {});
    const job = await engine.submit({ path: '__tests__/fixtures/timeout', args: { url: g.url } });
    let spinId = '';
    for await (const line of engine.logs(job.id, { follow: true })) {
      if (line.line === 'spinning') {
        spinId = line.source!.jobId;
        break;
      }
    }
    const spin = await engine.wait(spinId);
    expect(spin).toMatchObject({ status: 'failure', error: { name: 'TimeoutError', code: 'TIMEOUT' } });
    g.open();
    const root = await engine.wait(job.id);
    expect(root).toMatchObject({ status: 'success', result: { spun: 'TaskError: TimeoutError', patient: 'open' } });
    const patient = (await engine.descendants(job.id)).find((j) => j.entrypoint === 'patient')!;
    const attempts = await engine.attempts(patient.id);
    expect(attempts[0]).toMatchObject({ status: 'failure', error: { code: 'RELEASED' } });
    expect(attempts.at(-1)).toMatchObject({ status: 'success' });
  });

  it('retries a task that throws on its first 2 attempts; it succeeds on the 3rd', async () => {
    const { engine } = await cluster([]);
    const job = await engine.submit({ path: '__tests__/fixtures/retries', args: { which: 'all' } });
    const root = await engine.wait(job.id);
    expect(root.status).toBe('success');
    expect((root.result as Record<string, unknown>).thirdTime).toEqual({ value: 'ok on attempt 3' });
    const third = (await engine.descendants(job.id)).find((j) => j.entrypoint === 'thirdTime')!;
    const attempts = await engine.attempts(third.id);
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.message ?? null])).toEqual([
      [1, 'failure', 'attempt 1 fails'],
      [2, 'failure', 'attempt 2 fails'],
      [3, 'success', null],
    ]);
  });

  it('cancels a run that has 50 queued children', async () => {
    const { engine } = await cluster(['--concurrency', '1', '--prefetch', '0']);
    let reached!: () => void;
    const atGate = new Promise<void>((r) => (reached = r));
    const g = await gate(() => reached());
    const job = await engine.submit({
      path: '__tests__/fixtures/cancel',
      args: { url: g.url.replace(/\/$/, ''), n: 51 },
    });
    await atGate;
    // One blocker holds the only slot; the rest are queued as the root's calls arrive.
    await until(
      () => engine.descendants(job.id),
      (jobs) => jobs.filter((j) => j.status === 'queued').length === 50,
    );
    const canceled = await engine.cancel(job.id, 'stop the batch');
    expect(canceled).toHaveLength(52);
    const root = await engine.wait(job.id);
    expect(root).toMatchObject({
      status: 'canceled',
      canceledBy: 'MILLRACE_TOKEN',
      error: { message: 'stop the batch' },
    });
    const all = await engine.descendants(job.id);
    expect(all.map((j) => j.status)).toEqual(Array(51).fill('canceled'));
    expect(all.filter((j) => j.startedAt !== null)).toHaveLength(1);
  });
});

describe('idempotency keys over HTTP', () => {
  it('returns the job first submitted with a key, given as a query parameter or an Idempotency-Key header', async () => {
    const server = await startServerProcess();
    cleanups.push(() => server.proc.kill());
    const post = (query: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/api/w/default/jobs/run/p/examples/heavy${query}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ n: 1 }),
      }).then(async (res) => ({ status: res.status, text: await res.text() }));
    const first = await post('?idempotency_key=order-17');
    expect(first.status).toBe(201);
    expect(await post('?idempotency_key=order-17')).toEqual(first);
    expect(await post('', { 'idempotency-key': 'order-17' })).toEqual(first);
    const other = await post('', { 'idempotency-key': 'order-18' });
    expect(other.status).toBe(201);
    expect(other.text).not.toBe(first.text);
    const tooLong = await post(`?idempotency_key=${'k'.repeat(256)}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.text).toMatch(/idempotency key: expected 1 to 255 characters, got 256/);
    const engine = await engineFor(server.url);
    expect((await engine.get(first.text))!.idempotencyKey).toBe('order-17');
  });
});
