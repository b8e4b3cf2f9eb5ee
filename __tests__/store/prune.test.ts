import { statSync, existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Retention } from '../../lib/server/retention.js';
import type { PruneReport } from '../../lib/store/operations.js';
import { PgStore } from '../../lib/store/postgres/pg-store.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../../lib/store/store.js';
import type { JobSpec } from '../../lib/types.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { dropSchemas, freshSchema, testPgUrl } from '../helpers/pg.js';
import { runToEnd } from '../helpers/processes.js';

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  kind: 'script',
  scriptPath: 'examples/heavy',
  scriptHash: 'abc',
  entrypoint: 'main',
  args: {},
  ...over,
});
const LINE = 'x'.repeat(400);

/** `runs` finished runs (a root and a child, 20 lines of 400 characters each) and one run still going; returns the going one's id. */
async function fill(store: Store, runs: number): Promise<string> {
  const claim = () => store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60_000 });
  for (let i = 0; i < runs; i++) {
    const { job: root } = await store.enqueue(spec({ args: { i } }));
    await claim();
    const { job: child } = await store.enqueue(
      spec({ kind: 'task', entrypoint: 't', args: [i], parentJob: root.id, callKey: 't:0' }),
    );
    await claim();
    await store.appendLogs(
      child.id,
      Array.from({ length: 20 }, (_, n) => ({ ts: n, stream: 'stdout' as const, line: `${n} ${LINE}` })),
    );
    await store.finish(child.id, { status: 'success', result: i }, Date.now());
    await store.finish(root.id, { status: 'success', result: i }, Date.now());
  }
  const { job: going } = await store.enqueue(spec({ args: { going: true } }));
  await claim();
  await store.appendLogs(going.id, [{ ts: 1, stream: 'stdout', line: 'still going' }]);
  return going.id;
}

const sizeOf = (file: string) => statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
const millrace = (args: string[]) =>
  runToEnd(process.execPath, [`${REPO_ROOT}/bin/millrace.js`, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
  });

describe('prune on SQLite', () => {
  it('millrace prune --older-than 0s deletes exactly the 200 finished trees, leaves the running one whole, and the file gives the space back', async () => {
    const file = tempDb();
    const store = new SqliteStore({ file });
    const going = await fill(store, 200);
    await store.close();
    const before = sizeOf(file);
    expect(before).toBeGreaterThan(3_000_000); // 200 runs × 20 lines × 400 characters, twice (the child's log and the root's copy)

    const dry = await millrace(['prune', '--older-than', '0s', '--dry-run', '--json', '--db', file]);
    expect(dry.code).toBe(0);
    const rows = { jobs: 400, logs: 8000, attempts: 400, flowStatus: 0, progress: 0, traces: 0, events: 0 };
    expect(JSON.parse(dry.stdout)).toEqual({ dryRun: true, runs: 200, rows, batches: 4 });
    expect(sizeOf(file)).toBeGreaterThanOrEqual(before);

    const pruned = await millrace(['prune', '--older-than', '0s', '--db', file]);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toBe(
      `${file}: pruned 200 runs: 400 jobs, 8000 log lines, 400 attempts, 0 flow statuses, 0 progress reports, 0 events, in 4 batches\n`,
    );
    const after = sizeOf(file);
    expect(after).toBeLessThan(before / 10);

    const reopened = new SqliteStore({ file });
    try {
      expect((await reopened.list({ limit: 1000 })).map((j) => j.id)).toEqual([going]);
      expect((await reopened.readLogs(going)).map((l) => l.line)).toEqual(['still going']);
      expect(await reopened.attempts(going)).toHaveLength(1);
    } finally {
      await reopened.close();
    }
  });

  it('a run younger than --older-than is kept; bad durations exit 2 saying what was expected', async () => {
    const file = tempDb();
    const store = new SqliteStore({ file });
    await fill(store, 1);
    await store.close();
    const kept = await millrace(['prune', '--older-than', '7d', '--db', file]);
    expect(kept.stdout).toBe(`${file}: pruned nothing: no finished run is that old\n`);
    const bad = await millrace(['prune', '--older-than', 'seven days', '--db', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      'expected a duration such as 30s, 15m, 12h or 7d (units: ms, s, m, h, d, w), got "seven days"',
    );
  });

  it('server retention prunes on its timer', async () => {
    const store = new SqliteStore({ file: tempDb() });
    try {
      const going = await fill(store, 3);
      let retention: Retention | undefined;
      const pruned = new Promise<PruneReport>(
        (resolve) => (retention = new Retention({ store, retainMs: 1, intervalMs: 10, onPruned: resolve })),
      );
      expect((await pruned).runs).toBe(3);
      await retention!.close();
      expect((await store.list({ limit: 10 })).map((j) => j.id)).toEqual([going]);
    } finally {
      await store.close();
    }
  });
});

describe('prune on PostgreSQL', () => {
  const schemas: string[] = [];
  afterAll(() => dropSchemas(schemas));

  it('deletes exactly the 200 finished trees in batches, per table, and leaves the running one whole', async () => {
    const schema = freshSchema();
    schemas.push(schema);
    const store = await PgStore.open({ url: testPgUrl(), schema, poolSize: 4 });
    try {
      const going = await fill(store, 200);
      const report = await store.pruneRuns({ finishedBefore: Date.now() + 1, batchSize: 50 });
      expect(report).toEqual({
        dryRun: false,
        runs: 200,
        rows: { jobs: 400, logs: 8000, attempts: 400, flowStatus: 0, progress: 0, traces: 0, events: 0 },
        batches: 4,
      });
      expect((await store.list({ limit: 1000 })).map((j) => j.id)).toEqual([going]);
      expect((await store.readLogs(going)).map((l) => l.line)).toEqual(['still going']);
    } finally {
      await store.close();
    }
  });
});
