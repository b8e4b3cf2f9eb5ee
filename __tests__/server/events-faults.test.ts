import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { decode } from '../../lib/serialize.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** A job waiting for an event survives kill -9 of every process (docs/waits.md). */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The old worker's lease runs out after the kill, and then the job runs again: long enough that
 * a loaded machine (a slow thread start, a starved heartbeat) does not lose it before the kill.
 */
const LEASE = ['--lease-ms', '8000'];

/** Re-reads `read()` until `done` holds for what it returned (a condition, not a time). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('kill -9 of the server and the worker while a job waits for an event', () => {
  it('resumes once the event is sent after the restart; no task body that had finished runs again, and the wait is not waited twice', async () => {
    const serverArgs = ['--sweep-ms', '200', '--restart-grace-ms', '0'];
    const first = await startServerProcess(serverArgs);
    const port = new URL(first.url).port;
    const oldWorker = await startWorkerProcess(first.url, LEASE);
    cleanups.push(() => oldWorker.proc.kill());
    let engine = new HttpEngine({ server: first.url, token: TEST_TOKEN });
    const counter = join(mkdtempSync(join(tmpdir(), 'millrace-counter-')), 'count.txt');
    writeFileSync(counter, '');

    const job = await engine.submit({ path: '__tests__/fixtures/events', args: { which: 'wait', counter } });
    const atKill = await until(
      () => engine.descendants(job.id),
      (d) => d.some((j) => j.kind === 'wait' && j.status === 'queued'),
    );
    const wait = atKill.find((j) => j.kind === 'wait')!;
    expect(readFileSync(counter, 'utf8')).toBe('before\n');

    first.proc.child.kill('SIGKILL');
    oldWorker.proc.child.kill('SIGKILL');
    await Promise.all([first.proc.exited, oldWorker.proc.exited]);
    await engine.close();

    const second: Proc = startMillrace(['server', '--port', port, '--db', first.db, ...serverArgs], {
      MILLRACE_TOKEN: TEST_TOKEN,
    });
    cleanups.push(() => second.kill());
    await second.waitFor(/listening on/);
    engine = new HttpEngine({ server: first.url, token: TEST_TOKEN });
    cleanups.push(() => engine.close());
    // The wait is a row of the database: it outlived every process, still waiting.
    expect(await engine.get(wait.id)).toMatchObject({ kind: 'wait', status: 'queued' });
    const newWorker = await startWorkerProcess(first.url, LEASE);
    cleanups.push(() => newWorker.proc.kill());

    expect(await engine.sendEvent(job.id, 'go', { n: 9 })).toEqual({ status: 'delivered', waitJob: wait.id });
    const done = await engine.wait(job.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toEqual({ payload: { n: 9 }, isDate: false });
    expect(done.worker).toBe(newWorker.id);
    const attempts = await engine.attempts(job.id);
    expect(attempts[0]).toMatchObject({
      worker: oldWorker.id,
      status: 'failure',
      error: expect.objectContaining({ code: 'LEASE_EXPIRED' }),
    });
    // before() had finished: the replayed root re-attached to it; the wait is the one recorded.
    expect(readFileSync(counter, 'utf8')).toBe('before\nafter {"n":9}\n');
    const descendants = await engine.descendants(job.id);
    expect(descendants.filter((j) => j.kind === 'wait').map((j) => j.id)).toEqual([wait.id]);
    expect(descendants.map((j) => j.entrypoint)).toEqual(['before', 'go', 'after']);
  });

  it('a wait that received its event before the kill returns that event on replay', async () => {
    const serverArgs = ['--sweep-ms', '200', '--restart-grace-ms', '0'];
    const first = await startServerProcess(serverArgs);
    const port = new URL(first.url).port;
    const oldWorker = await startWorkerProcess(first.url, LEASE);
    cleanups.push(() => oldWorker.proc.kill());
    let engine = new HttpEngine({ server: first.url, token: TEST_TOKEN });
    // 'gate' waits for 'gate' then 'go'; kill once 'gate' was received, while it waits for 'go'.
    const job = await engine.submit({ path: '__tests__/fixtures/events', args: { which: 'gate' } });
    await until(
      () => engine.descendants(job.id),
      (d) => d.some((j) => j.entrypoint === 'gate' && j.status === 'queued'),
    );
    await engine.sendEvent(job.id, 'gate', 'g1');
    await until(
      () => engine.descendants(job.id),
      (d) => d.some((j) => j.entrypoint === 'go' && j.status === 'queued'),
    );

    first.proc.child.kill('SIGKILL');
    oldWorker.proc.child.kill('SIGKILL');
    await Promise.all([first.proc.exited, oldWorker.proc.exited]);
    await engine.close();
    const second: Proc = startMillrace(['server', '--port', port, '--db', first.db, ...serverArgs], {
      MILLRACE_TOKEN: TEST_TOKEN,
    });
    cleanups.push(() => second.kill());
    await second.waitFor(/listening on/);
    engine = new HttpEngine({ server: first.url, token: TEST_TOKEN });
    cleanups.push(() => engine.close());
    const newWorker = await startWorkerProcess(first.url, LEASE);
    cleanups.push(() => newWorker.proc.kill());

    await engine.sendEvent(job.id, 'go', 'g2');
    const done = await engine.wait(job.id);
    expect(done).toMatchObject({ status: 'success', error: null });
    // The replayed job got 'g1' back from its recorded wait: had it waited for 'gate' again, it would still wait.
    expect(decode(done.result!)).toEqual({ gate: 'g1', go: 'g2' });
    const waits = (await engine.descendants(job.id)).filter((j) => j.kind === 'wait');
    expect(waits.map((j) => [j.entrypoint, j.status])).toEqual([
      ['gate', 'success'],
      ['go', 'success'],
    ]);
  });
});
