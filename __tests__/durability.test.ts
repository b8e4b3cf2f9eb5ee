import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backoffMs } from '../lib/engine/retry-policy.js';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import type { JobRecord } from '../lib/types.js';
import { openTestEngine, runToEnd } from './helpers/engine.js';

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** A server whose requests are held until `release()`, then answered with `body`. */
async function holdingServer(body: string) {
  const held: ServerResponse[] = [];
  const seen: string[] = [];
  let released = false;
  let arrived!: () => void;
  const first = new Promise<void>((r) => (arrived = r));
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.url ?? '');
    arrived();
    if (released) res.end(body);
    else held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    first,
    release() {
      released = true;
      for (const res of held.splice(0)) res.end(body);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const attemptsOf = async (job: JobRecord) =>
  (await engine!.attempts(job.id)).map((a) => [a.attempt, a.status, a.error?.code ?? a.error?.message ?? null]);
const byName = (jobs: JobRecord[], name: string) => jobs.filter((j) => j.entrypoint === name);

describe('retries', () => {
  it('retries with backoff, records every attempt, names the last one, and skips retries on NonRetryableError', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/retries', { which: 'all' });
    expect(root.status).toBe('success');
    const result = decode(root.result!) as Record<string, { value?: string; error?: string; message?: string }>;
    expect(result.thirdTime).toEqual({ value: 'ok on attempt 3' });
    expect(result.alwaysFails.error).toBe('TaskError');
    expect(result.alwaysFails.message).toMatch(
      /alwaysFails, tag default\) failed on attempt 3 of 3: Error: attempt 3 fails/,
    );
    expect(result.refuses.error).toBe('TaskError');
    expect(result.refuses.message).toMatch(/failed on attempt 1 of 3: NonRetryableError: the card was declined/);

    const [third] = byName(descendants, 'thirdTime');
    expect(await attemptsOf(third)).toEqual([
      [1, 'failure', 'attempt 1 fails'],
      [2, 'failure', 'attempt 2 fails'],
      [3, 'success', null],
    ]);
    const attempts = await engine.attempts(third.id);
    // Backoff: 10 ms, then 20 ms, between an attempt's end and the next one's claim.
    expect(attempts[1].claimedAt - attempts[0].completedAt!).toBeGreaterThanOrEqual(10);
    expect(attempts[2].claimedAt - attempts[1].completedAt!).toBeGreaterThanOrEqual(20);
    const [always] = byName(descendants, 'alwaysFails');
    expect((await attemptsOf(always)).map((a) => a[1])).toEqual(['failure', 'failure', 'failure']);
    const [refuses] = byName(descendants, 'refuses');
    expect(await attemptsOf(refuses)).toEqual([[1, 'failure', 'NON_RETRYABLE']]);
    expect(refuses).toMatchObject({ status: 'failure', attempt: 1, maxAttempts: 3 });
  });

  it('a parent waiting out its child’s backoff holds no slot: another task runs meanwhile, on one slot', async () => {
    engine = openTestEngine({ concurrency: 1, threads: 1 });
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/retries', { which: 'backoff' });
    expect(root.status).toBe('success');
    expect(decode(root.result!)).toEqual(['backed off', 'quick']);
    const [backsOff] = byName(descendants, 'backsOff');
    const [quick] = byName(descendants, 'quick');
    const [first, second] = await engine.attempts(backsOff.id);
    // On the one slot, quick starts only once backsOff's first attempt has ended: the time the
    // worker reported (the thread's clock at `done`), the attempt's recorded end. The retry is due
    // a backoff after the engine recorded that failure, which was no sooner.
    const firstEnded = first.completedAt!;
    expect(first.startedAt!).toBeLessThanOrEqual(firstEnded);
    expect(backsOff.scheduledFor - backoffMs(backsOff.retry, 1)).toBeGreaterThanOrEqual(firstEnded);
    expect(quick.startedAt!).toBeGreaterThanOrEqual(firstEnded);
    // And it ran while backsOff waited out its backoff: it ended before the second attempt started.
    expect(quick.completedAt!).toBeLessThanOrEqual(second.startedAt!);
  });
});

describe('timeouts', () => {
  it('stops a task that hangs past its timeout, replaces its thread and requeues the other jobs on it', async () => {
    // One thread: the root, patient and spin all run on it.
    engine = openTestEngine({ concurrency: 2, threads: 1 });
    const server = await holdingServer('patient done');
    try {
      const job = await engine.submit({ path: '__tests__/fixtures/timeout', args: { url: server.url } });
      let spinId: string | undefined;
      for await (const line of engine.logs(job.id, { follow: true })) {
        if (line.line === 'spinning') {
          spinId = line.source!.jobId;
          break;
        }
      }
      const spin = await engine.wait(spinId!);
      expect(spin.status).toBe('failure');
      expect(spin.error).toMatchObject({ name: 'TimeoutError', code: 'TIMEOUT' });
      expect(spin.error!.message).toMatch(/ran past its timeout of 1s on attempt 1 of 1/);
      server.release();
      const root = await engine.wait(job.id);
      expect(root.status).toBe('success');
      expect(decode(root.result!)).toEqual({ spun: 'TaskError: TimeoutError', patient: 'patient done' });

      const descendants = await engine.descendants(job.id);
      const [patient] = byName(descendants, 'patient');
      // Patient shared the thread: it went back to the queue, not failed, and ran again.
      const patientAttempts = await attemptsOf(patient);
      expect(patientAttempts[0]).toEqual([1, 'failure', 'RELEASED']);
      expect(patientAttempts.at(-1)).toEqual([patientAttempts.length, 'success', null]);
      expect((await engine.attempts(patient.id))[0].error!.message).toContain(`job ${spinId} did not stop`);
      // So did the root; replaying, it got spin's recorded failure rather than running spin again.
      expect((await attemptsOf(root))[0]).toEqual([1, 'failure', 'RELEASED']);
      expect(await attemptsOf(spin)).toEqual([[1, 'failure', 'TIMEOUT']]);
      expect(byName(descendants, 'spin')).toHaveLength(1);
    } finally {
      await server.close();
    }
  });
});

describe('cancellation', () => {
  it('cancels a run with 50 queued children: every job canceled, nothing more runs, the reason and who recorded', async () => {
    engine = openTestEngine({ concurrency: 1, threads: 1, prefetch: 0 });
    const server = await holdingServer('never');
    try {
      const job = await engine.submit({ path: '__tests__/fixtures/cancel', args: { url: server.url, n: 51 } });
      await server.first; // one blocker runs; the other 50 are queued as the root's calls arrive
      for (;;) {
        const children = await engine.descendants(job.id);
        const queued = children.filter((j) => j.status === 'queued');
        // The blocker's start is written a moment after it starts (worker/held-starts.ts): once it is.
        const started = children.filter((j) => j.startedAt !== null);
        if (queued.length === 50 && started.length === 1) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const canceled = await engine.coordinator.cancel(job.id, { reason: 'changed my mind', by: 'the test' });
      expect(canceled).toHaveLength(52);
      const root = await engine.wait(job.id);
      expect(root).toMatchObject({
        status: 'canceled',
        canceledBy: 'the test',
        error: { name: 'CanceledError', message: 'changed my mind' },
      });
      await engine.drained();
      const all = await engine.descendants(job.id);
      expect(all.map((j) => j.status)).toEqual(Array(51).fill('canceled'));
      expect(all.every((j) => j.canceledBy === 'the test')).toBe(true);
      // Only the first blocker ever ran: the canceled ones were never claimed.
      expect(server.seen).toEqual(['/0']);
      expect(all.filter((j) => j.startedAt !== null)).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('rejects the caller of a canceled task with CanceledError, and stops the task’s code', async () => {
    engine = openTestEngine();
    const server = await holdingServer('never');
    try {
      const job = await engine.submit({ path: '__tests__/fixtures/cancel', args: { url: server.url, n: 0 } });
      await server.first;
      const victim = (await engine.descendants(job.id)).find((j) => j.entrypoint === 'victim')!;
      await engine.coordinator.cancel(victim.id, { reason: 'not needed', by: 'cli' });
      const root = await engine.wait(job.id);
      expect(root.status).toBe('success');
      expect(decode(root.result!)).toBe(`CanceledError: Job ${victim.id} was canceled: not needed`);
      expect(await engine.get(victim.id)).toMatchObject({ status: 'canceled', canceledBy: 'cli' });
    } finally {
      await server.close();
    }
  });
});

describe('durable replay', () => {
  const counterFile = () => {
    const file = join(mkdtempSync(join(tmpdir(), 'millrace-counter-')), 'count.txt');
    writeFileSync(file, '');
    return file;
  };

  it('a re-run job gets its steps, sleeps and completed calls as recorded: none runs twice', async () => {
    engine = openTestEngine();
    const counter = counterFile();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/durable', { which: 'replay', counter });
    expect(root.status).toBe('success');
    const [replayer] = byName(descendants, 'replayer');
    expect(replayer.attempt).toBe(2);
    const result = decode(root.result!) as { stamp: { at: number; r: number }; c: number };
    const [stamp] = descendants.filter((j) => j.kind === 'step');
    expect(stamp).toMatchObject({
      entrypoint: 'stamp',
      status: 'success',
      parentJob: replayer.id,
      callKey: '@step:stamp:0',
    });
    expect(result.stamp).toEqual(decode(stamp.result!));
    expect(result.c).toBe(10);
    // The step's body and the child's body ran once each, over two attempts.
    expect(readFileSync(counter, 'utf8')).toBe('step\nchild 1\n');
    const sleeps = descendants.filter((j) => j.kind === 'sleep');
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0].scheduledFor - sleeps[0].createdAt).toBe(500);
    expect(byName(descendants, 'child')).toHaveLength(1);
  });

  it('each call takes its key in the order the job made it, however its task name resolves', async () => {
    // A thread resolves a module's task names on its first calls (a dynamic import, which
    // need not finish in order); the keys must still follow the calls, or a replay would see
    // leaf(11) at leaf:10 and fail with a NonDeterminismError. Fresh threads each time.
    for (let run = 0; run < 3; run++) {
      engine = openTestEngine({ threads: 1 });
      const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/fan-out', { children: 100 });
      expect(root.status).toBe('success');
      expect(descendants).toHaveLength(100);
      const misplaced = descendants
        .filter((j) => j.callKey !== `leaf:${(j.args as number[])[0]}`)
        .map((j) => [j.callKey, j.args]);
      expect(misplaced).toEqual([]);
      await engine.close();
      engine = undefined;
    }
  });

  it('a different call at a recorded key is a NonDeterminismError, not retried', async () => {
    engine = openTestEngine();
    const counter = counterFile();
    const { descendants } = await runToEnd(engine, '__tests__/fixtures/durable', { which: 'drift', counter });
    const [drifts] = byName(descendants, 'drifts');
    expect(drifts.status).toBe('failure');
    expect(drifts.error!.name).toBe('NonDeterminismError');
    expect(drifts.error!.message).toMatch(
      /made a different call at child:0: it recorded task child\(1,".*"\).* and now calls task child\(2,/,
    );
    expect(drifts.attempt).toBe(2);
    expect(readFileSync(counter, 'utf8')).toBe('child 1\n');
  });

  it('a durable sleep holds no slot: on one slot, another task runs while the sleeper sleeps', async () => {
    engine = openTestEngine({ concurrency: 1, threads: 1 });
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/durable', { which: 'sleep', counter: '' });
    expect(decode(root.result!)).toEqual(['rested', 'quick']);
    const [sleep] = descendants.filter((j) => j.kind === 'sleep');
    const [sleeper] = byName(descendants, 'sleeper');
    const [quick] = byName(descendants, 'quick');
    expect(sleep.scheduledFor - sleep.createdAt).toBeGreaterThanOrEqual(2000);
    // The sleeper was called first and claimed first; quick ran on the one slot inside the
    // sleeper's run, before its sleep ended: only possible if the sleeping sleeper held no slot.
    // (The slot is freed as the call is made, a moment before the store records the sleep job.)
    expect(sleeper.parentJob).toBe(root.id);
    expect(quick.startedAt!).toBeGreaterThanOrEqual(sleeper.startedAt!);
    expect(quick.completedAt!).toBeLessThanOrEqual(sleep.completedAt!);
    expect(sleep.completedAt!).toBeLessThanOrEqual(sleeper.completedAt!);
  });
});

describe('idempotency', () => {
  it('returns the job first submitted with a key', async () => {
    engine = openTestEngine();
    const first = await engine.submit({
      path: '__tests__/fixtures/retries',
      args: { which: 'all' },
      idempotencyKey: 'nightly-2026-11-25',
    });
    const again = await engine.submit({
      path: '__tests__/fixtures/retries',
      args: { which: 'all' },
      idempotencyKey: 'nightly-2026-11-25',
    });
    expect(again.id).toBe(first.id);
    expect((await engine.wait(first.id)).status).toBe('success');
    expect(await engine.list({ rootsOnly: true })).toHaveLength(1);
  });
});
