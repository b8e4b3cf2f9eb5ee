import { afterEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { Coordinator } from '../../lib/engine/coordinator.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobSpec } from '../../lib/types.js';
import { tempDb } from '../helpers/engine.js';

/**
 * On SQLite, a child taken at once goes to its worker before the turn's commit: it runs while
 * its insert is written. Its caller hears only of its end, committed after it. Should the
 * commit fail, the child was never recorded, and its waiters hear so.
 */

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const spec = (over: Partial<JobSpec> = {}): JobSpec => ({
  kind: 'task',
  scriptPath: 'examples/heavy',
  scriptHash: 'abc',
  entrypoint: 'fibo',
  args: [3],
  ...over,
});
const claim = { workerId: 'w1', leaseMs: 30_000 };
const held = { workerId: 'w1', attempt: 1, workspace: 'default' };

async function runningParent(file: string) {
  const store = new SqliteStore({ file });
  cleanups.push(() => store.close());
  const { job: parent } = await store.enqueue(spec({ kind: 'script', entrypoint: 'main' }));
  await store.claim({ workerId: 'w1', tags: 'all', limit: 1, leaseMs: 30_000 });
  return { store, parent };
}

describe('a child taken at once, before its commit', () => {
  it('is handed over before its insert commits; other answers of a claiming enqueue after theirs', async () => {
    const file = tempDb();
    const { store, parent } = await runningParent(file);
    const reader = new Database(file, { readonly: true });
    cleanups.push(() => reader.close());
    const seen = (id: string) => reader.prepare('SELECT status FROM jobs WHERE id = ?').get(id);
    const taken = await store.enqueue(spec({ parentJob: parent.id, callKey: 'c0' }), claim, held);
    expect(taken.job).toMatchObject({ status: 'running', worker: 'w1', attempt: 1 });
    // Another connection does not see it yet; once `committed` settles, it does.
    expect(seen(taken.job.id)).toBeUndefined();
    await taken.committed;
    expect(seen(taken.job.id)).toEqual({ status: 'running' });
    // A call already recorded is answered after the commit, with nothing to wait for.
    const again = await store.enqueue(spec({ parentJob: parent.id, callKey: 'c0' }), claim, held);
    expect(again).toEqual({ job: expect.objectContaining({ id: taken.job.id }), created: false });
    // A child that must queue (a delay): answered once committed.
    const queued = await store.enqueue(spec({ parentJob: parent.id, callKey: 'c1', delayMs: 60_000 }), claim, held);
    expect(queued.committed).toBeUndefined();
    expect(seen(queued.job.id)).toEqual({ status: 'queued' });
  });

  it('tells its waiters it was never recorded when its commit fails', async () => {
    const { store, parent } = await runningParent(tempDb());
    const coordinator = new Coordinator(store);
    cleanups.push(() => coordinator.close());
    // The next COMMIT fails, as a full disk would make it.
    const db = (store as unknown as { db: { exec(sql: string): unknown } }).db;
    const exec = db.exec.bind(db);
    let failed = false;
    db.exec = (sql: string) => {
      if (sql === 'COMMIT' && !failed) {
        failed = true;
        throw new Error('database or disk is full');
      }
      return exec(sql);
    };
    const child = await coordinator.submit(spec({ parentJob: parent.id, callKey: 'c0' }), claim, held);
    expect(child.status).toBe('running');
    const ended = await coordinator.waitFinished(child.id);
    expect(failed).toBe(true);
    expect(ended).toMatchObject({
      id: child.id,
      status: 'failure',
      error: {
        code: 'UNKNOWN_JOB',
        message: `Job ${child.id} was not recorded: the commit of its insert failed (database or disk is full)`,
      },
    });
    expect(await store.get(child.id)).toBeUndefined();
  });
});
