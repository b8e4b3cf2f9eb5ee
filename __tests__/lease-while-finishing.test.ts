import { afterEach, expect, it } from '@jest/globals';
import { Coordinator } from '../lib/engine/coordinator.js';
import { scriptJobSpec } from '../lib/loader/script-job.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { TestClock } from '../lib/testing/test-clock.js';
import type { WorkerBackend } from '../lib/worker/backend.js';
import { Worker } from '../lib/worker/worker.js';
import { REPO_ROOT } from './helpers/engine.js';
import { overriding } from './helpers/overriding.js';

/**
 * A job whose code has ended but whose end the worker has not yet got recorded (its logs
 * flushing, its finish report on its way to a slow server) is still the worker's: its lease
 * must be renewed until the end is recorded. Otherwise a slow report lets the lease run out
 * while the worker is alive, the sweep fails the attempt with LEASE_EXPIRED, and the job runs
 * again (seen in a PostgreSQL bench run under load: ~180 jobs of a 1,000-wide fan-out).
 *
 * The worker's backend is the Coordinator, with `finish` held until the test lets it through.
 * The engine's time is a TestClock: the test renews the worker's leases at the new time and
 * sweeps, as millrace/testing's advance does. Nothing waits on real time.
 */

const START = Date.parse('2026-12-01T12:00:00Z');
const LEASE_MS = 30_000;

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

it('keeps renewing the lease of a job whose end is still being recorded', async () => {
  const clock = new TestClock(START);
  const store = new SqliteStore({ file: ':memory:', clock });
  const coordinator = new Coordinator(store, { clock, sweepIntervalMs: 3_600_000 });
  let finishCalled!: () => void;
  const finishing = new Promise<void>((resolve) => (finishCalled = resolve));
  let letFinish!: () => void;
  const held = new Promise<void>((resolve) => (letFinish = resolve));
  // The Coordinator as the worker's backend, but a finish waits for the test (a slow report).
  const backend: WorkerBackend = overriding(coordinator, {
    finish: async (...args: Parameters<WorkerBackend['finish']>) => {
      finishCalled();
      await held;
      return coordinator.finish(...args);
    },
  });
  const worker = new Worker({
    backend,
    root: REPO_ROOT,
    tags: 'all',
    concurrency: 1,
    threads: 1,
    clock,
    leaseMs: LEASE_MS,
    // The test renews (worker.renewLeases), as the heartbeat would.
    heartbeatMs: 3_600_000,
  });
  close = async () => {
    letFinish();
    await worker.close();
    await coordinator.close();
    await store.close();
  };

  const job = await coordinator.submit(
    scriptJobSpec(REPO_ROOT, { path: '__tests__/fixtures/say', args: { word: 'x' } }),
  );
  await finishing; // the code has ended; its end is on its way

  // The lease would have run out: the worker renews at the new time, then the sweep looks.
  clock.set(START + LEASE_MS + 1000);
  await worker.renewLeases();
  await coordinator.sweep();
  expect((await store.get(job.id))!.status).toBe('running');

  letFinish();
  const done = await coordinator.waitFinished(job.id);
  expect(done).toMatchObject({ status: 'success', result: 'X', attempt: 1 });
  const attempts = await store.attempts(job.id);
  expect(attempts.map((a) => [a.status, a.error?.code])).toEqual([['success', undefined]]);
});
