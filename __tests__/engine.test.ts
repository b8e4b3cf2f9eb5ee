import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import { openTestEngine, overlap, runToEnd } from './helpers/engine.js';

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

describe('the embedded engine', () => {
  it('runs four CPU-bound tasks under Promise.all on two executor threads at once', async () => {
    engine = openTestEngine({ threads: 2, concurrency: 2 });
    // A first run warms both threads (tsx and the script loaded), so start-up does not blur the timings.
    await runToEnd(engine, '__tests__/fixtures/cpu', { count: 4, n: 1 });
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/cpu', { count: 4, n: 32 });
    expect(root.status).toBe('success');
    expect(root.result).toEqual([2178309, 2178309, 2178309, 2178309]);
    expect(descendants).toHaveLength(4);
    // From the recorded times: at least one pair ran at the same time.
    const pairs = descendants.flatMap((a, i) => descendants.slice(i + 1).map((b) => [a, b] as const));
    expect(pairs.some(([a, b]) => overlap(a, b))).toBe(true);
    // And never more than two at once: the pool admits `concurrency` working jobs.
    for (const a of descendants) {
      const atStart = descendants.filter((b) => b.startedAt! <= a.startedAt! && a.startedAt! < b.completedAt!);
      expect(atStart.length).toBeLessThanOrEqual(2);
    }
  });

  it('completes a 3×3×3 nested fan-out with a concurrency of 1', async () => {
    engine = openTestEngine({ threads: 1, concurrency: 1 });
    const { root, descendants } = await runToEnd(engine, 'examples/nested', { width: 3 });
    expect(root.status).toBe('success');
    expect(root.result).toEqual({ stations: 27 });
    expect(descendants).toHaveLength(3 + 9 + 27);
    expect(descendants.every((j) => j.status === 'success')).toBe(true);
    const leaves = descendants.filter((j) => j.entrypoint === 'measure');
    expect(leaves).toHaveLength(27);
    // One slot: no two leaves (which never await) ran at the same time.
    for (const a of leaves) for (const b of leaves) if (a !== b) expect(overlap(a, b)).toBe(false);
    // Links: every job's root is the run's root, and each level's parent is the level above.
    expect(descendants.every((j) => j.rootJob === root.id)).toBe(true);
    const byId = new Map(descendants.map((j) => [j.id, j]));
    for (const leaf of leaves) {
      const city = byId.get(leaf.parentJob!)!;
      expect(city.entrypoint).toBe('city');
      expect(byId.get(city.parentJob!)!.entrypoint).toBe('region');
      expect(byId.get(city.parentJob!)!.parentJob).toBe(root.id);
    }
  });

  it('streams a child’s log line into the parent’s log while the child still runs', async () => {
    engine = openTestEngine();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const server = createServer((_req, res) => void released.then(() => res.end('released')));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const job = await engine.submit({ path: '__tests__/fixtures/live', args: { url } });
      const seen: string[] = [];
      for await (const line of engine.logs(job.id, { follow: true })) {
        seen.push(line.line);
        if (line.line === 'waiting for the test to release me') {
          // The child is blocked on our server right now: it is running, and its line is here.
          const child = (await engine.descendants(job.id))[0];
          expect(child.status).toBe('running');
          expect(line.source).toEqual({ jobId: child.id, name: 'waiter' });
          release();
        }
      }
      const done = await engine.wait(job.id);
      expect(done.result).toBe('released');
      expect(seen).toContain('waiting for the test to release me');
    } finally {
      server.close();
    }
  });

  it('closes a job’s log when the job ends: lines its code prints afterwards are dropped', async () => {
    engine = openTestEngine();
    let late!: () => void;
    const lateSeen = new Promise<void>((r) => (late = r));
    const server = createServer((req, res) => {
      if (req.url === '/late') {
        late();
        res.end();
      } else void lateSeen.then(() => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/late-log', { url });
      expect(root).toMatchObject({ status: 'success', result: 'done' });
      const own = (await engine.store.readLogs(descendants[0].id)).map((l) => l.line);
      expect(own).toEqual(['before return']);
      expect((await engine.store.readLogs(root.id)).map((l) => l.line)).toEqual(['before return']);
    } finally {
      server.close();
    }
  });

  it('forgets finished runs, so claims do not grow with every run it ever started', async () => {
    engine = openTestEngine();
    for (let i = 0; i < 3; i++) await runToEnd(engine, 'examples/heavy', { n: 2 });
    const job = await engine.submit({ path: '__tests__/fixtures/slow', args: { count: 1000, ms: 20 } });
    expect(engine.activeRuns).toBe(1);
    await engine.cancel(job.id, 'enough');
    await engine.drained();
    expect(await engine.list({ rootJob: job.id, status: ['queued', 'running'] })).toEqual([]);
    expect(engine.activeRuns).toBe(0);
  });

  it('keeps the job context across Promise.all and p-limit', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/context');
    expect(root.status).toBe('success');
    const result = decode(root.result!) as {
      self: Record<string, unknown>;
      viaPLimit: string[];
      children: Record<string, unknown>[];
    };
    expect(result.self).toMatchObject({
      id: root.id,
      rootId: root.id,
      script: '__tests__/fixtures/context',
      tag: 'default',
      attempt: 1,
      workspace: 'default',
    });
    expect(result.self.parentId).toBeUndefined();
    expect(result.viaPLimit).toEqual([root.id, root.id, root.id]);
    expect(descendants).toHaveLength(2);
    for (const child of result.children) {
      expect(child).toMatchObject({ rootId: root.id, parentId: root.id, task: 'whoAmI', tag: 'ctx', attempt: 1 });
      expect(descendants.map((d) => d.id)).toContain(child.id);
    }
    expect(new Set(result.children.map((c) => c.id)).size).toBe(2);
  });

  it('round-trips every supported value type through a task, in both directions', async () => {
    engine = openTestEngine();
    const { root } = await runToEnd(engine, '__tests__/fixtures/values');
    expect(root.status).toBe('success');
    const back = decode(root.result!) as { seen: string; sameType: boolean; value: unknown }[];
    expect(back.map((b) => b.seen)).toEqual([
      'Date',
      'bigint',
      'Map',
      'Set',
      'Uint8Array',
      'undefined',
      'number',
      'number',
      'Error',
      'object',
    ]);
    expect(back.every((b) => b.sameType)).toBe(true);
    expect(back[0].value).toEqual(new Date('2024-01-02T03:04:05.000Z'));
    expect(back[1].value).toBe(12345678901234567890n);
    expect(back[2].value).toEqual(
      new Map<unknown, unknown>([
        ['a', 1],
        [2, new Set([3])],
      ]),
    );
    expect(back[4].value).toEqual(new Uint8Array([1, 2, 255]));
    expect(back[6].value).toBeNaN();
    expect(back[7].value).toBe(Infinity);
    expect((back[8].value as Error).message).toBe('kept');
    expect((back[8].value as Error).name).toBe('RangeError');
  });
});

describe('task failures', () => {
  it('rejects the caller with a TaskError carrying the child’s facts; a caught one lets the run succeed', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/failing', { catchIt: true });
    expect(root.status).toBe('success');
    const failed = descendants.find((d) => d.entrypoint === 'explode')!;
    expect(failed.status).toBe('failure');
    expect(failed.error).toMatchObject({ name: 'TypeError', message: 'cannot handle caught' });
    const r = root.result as Record<string, unknown>;
    expect(r).toMatchObject({
      isTaskError: true,
      name: 'TaskError',
      code: 'TASK_FAILED',
      jobId: failed.id,
      taskName: 'explode',
      tag: 'default',
      attempt: 1,
      maxAttempts: 1,
      errorName: 'TypeError',
      errorMessage: 'cannot handle caught',
      after: 'still fine',
    });
    expect(r.message).toBe(
      `Job ${failed.id} (explode, tag default) failed on attempt 1 of 1: TypeError: cannot handle caught`,
    );
    // The child's stack points at the line of the .ts source that threw (source maps).
    expect(r.errorStack).toMatch(/fixtures\/failing\.ts:5:\d+/);
    expect(descendants.find((d) => d.entrypoint === 'fine')!.status).toBe('success');
  });

  it('fails the parent when it does not catch', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/failing', { catchIt: false });
    expect(root.status).toBe('failure');
    expect(root.error).toMatchObject({ name: 'TaskError', code: 'TASK_FAILED', jobId: descendants[0].id });
    expect(root.error!.message).toContain('TypeError: cannot handle uncaught');
  });

  it('retries a task whose child failed, running the child again', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/retry-child');
    expect(root).toMatchObject({ status: 'success', result: 'ok on attempt 2' });
    const parent = descendants.find((d) => d.entrypoint === 'parent')!;
    const flaky = descendants.find((d) => d.entrypoint === 'flaky')!;
    expect(descendants).toHaveLength(2);
    expect(parent).toMatchObject({ status: 'success', attempt: 2, maxAttempts: 2 });
    expect(flaky).toMatchObject({ status: 'success', attempt: 2, parentJob: parent.id });
    const attempts = await engine.attempts(flaky.id);
    expect(attempts.map((a) => [a.attempt, a.status, a.error?.message ?? null])).toEqual([
      [1, 'failure', 'flaky on its first attempt'],
      [2, 'success', null],
    ]);
  });

  it('runs a task defined in a helper module that the script imports', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/uses-helper', { n: 21 });
    expect(root.result).toBe(42);
    expect(descendants[0]).toMatchObject({
      kind: 'task',
      scriptPath: '__tests__/fixtures/helper-module',
      entrypoint: 'double',
      status: 'success',
    });
  });

  it('refuses duplicate and nameless tasks, and unserialisable args before submitting', async () => {
    engine = openTestEngine();
    for (const [script, which, pattern] of [
      [
        'duplicate-tasks',
        undefined,
        /Two tasks are named "same" in .*duplicate-tasks\.ts: one defined at .*duplicate-tasks\.ts:3, one at .*duplicate-tasks\.ts:4/,
      ],
      [
        'nameless-task',
        'nameless',
        /The task defined at .*nameless-task\.ts:3 has no name\. Export it, give its function a name/,
      ],
      ['nameless-task', 'function-arg', /args\[0\] is a function/],
    ] as const) {
      const { root, descendants } = await runToEnd(engine, `__tests__/fixtures/${script}`, which ? { which } : {});
      expect(root.status).toBe('failure');
      expect(root.error!.message).toMatch(pattern);
      expect(descendants).toEqual([]);
    }
  });

  it('fails a job whose task the script no longer has, naming the ones it has', async () => {
    engine = openTestEngine();
    const root = await engine.submit({ path: '__tests__/fixtures/helper-module.ts', args: {} }).catch((e: Error) => e);
    // helper-module has no main: refused before any job exists.
    expect(root).toBeInstanceOf(Error);
    expect((root as Error).message).toMatch(/has no exported function main/);
    const { job: orphan } = await engine.store.enqueue({
      kind: 'task',
      scriptPath: '__tests__/fixtures/helper-module',
      scriptHash: (await import('../lib/loader/paths.js')).resolveScript(
        engine.root,
        '__tests__/fixtures/helper-module',
      ).hash,
      entrypoint: 'triple',
      args: [1],
      id: 'orphan-task-job',
    });
    // Hand-enqueued jobs are not this engine's runs; a worker serving everything runs it.
    (engine as unknown as { roots: Set<string> }).roots.add(orphan.id);
    engine.coordinator.hub.emit('queued');
    const done = await engine.wait(orphan.id);
    expect(done.status).toBe('failure');
    expect(done.error).toMatchObject({ name: 'UnknownTaskError' });
    expect(done.error!.message).toContain('has no task named "triple" (its tasks are: double)');
  });
});
