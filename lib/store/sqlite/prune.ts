import type Database from 'better-sqlite3';
import {
  addPrunedRows,
  DEFAULT_PRUNE_BATCH,
  emptyPrunedRows,
  type PrunedRows,
  type PruneReport,
  type PruneRequest,
} from '../operations.js';

/**
 * The tables that hold a run's rows, each deleted by the ids of the run's jobs. THE place to add
 * a table keyed by job: prune deletes a run across every table listed here, `jobs` last.
 * (Schedules are not a run's: a schedule's `last_job` may name a pruned run.)
 */
const RUN_TABLES: readonly { key: keyof PrunedRows; sql: string }[] = [
  {
    key: 'logs',
    sql: 'DELETE FROM logs WHERE job_id IN (SELECT id FROM jobs WHERE root_job IN (SELECT value FROM json_each(?)))',
  },
  {
    key: 'attempts',
    sql: 'DELETE FROM attempts WHERE job_id IN (SELECT id FROM jobs WHERE root_job IN (SELECT value FROM json_each(?)))',
  },
  {
    key: 'flowStatus',
    sql: 'DELETE FROM flow_status WHERE job_id IN (SELECT id FROM jobs WHERE root_job IN (SELECT value FROM json_each(?)))',
  },
  {
    key: 'progress',
    sql: 'DELETE FROM job_progress WHERE job_id IN (SELECT id FROM jobs WHERE root_job IN (SELECT value FROM json_each(?)))',
  },
  { key: 'traces', sql: 'DELETE FROM run_traces WHERE job_id IN (SELECT value FROM json_each(?))' },
  {
    key: 'events',
    sql: 'DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE root_job IN (SELECT value FROM json_each(?)))',
  },
  { key: 'jobs', sql: 'DELETE FROM jobs WHERE root_job IN (SELECT value FROM json_each(?))' },
];

/** Counting instead of deleting, for a dry run. */
const RUN_COUNTS: readonly { key: keyof PrunedRows; sql: string }[] = RUN_TABLES.map(({ key, sql }) => ({
  key,
  sql: sql.replace(/^DELETE FROM/, 'SELECT count(*) AS n FROM'),
}));

/**
 * Roots finished before a time, after a cursor, whose run has no job queued or running: a run
 * whose root finished may still have children it started and did not await.
 */
const ELIGIBLE_ROOTS = `
  SELECT r.id, r.completed_at FROM jobs r
  WHERE r.parent_job IS NULL AND r.status IN ('success', 'failure', 'canceled') AND r.completed_at < @before
    AND (r.completed_at > @after_at OR (r.completed_at = @after_at AND r.id > @after_id))
    AND NOT EXISTS (SELECT 1 FROM jobs d WHERE d.root_job = r.id AND d.status IN ('queued', 'running'))
  ORDER BY r.completed_at, r.id
  LIMIT @limit`;

export interface PruneContext {
  db: Database.Database;
  /** Runs a write in the store's tick transaction and resolves once it is committed. */
  write<T>(fn: () => T): Promise<T>;
}

/**
 * Deletes finished runs a batch at a time: each batch is one write of the store's tick
 * transaction, and the next batch waits for the next turn, so claims and reports get the one
 * writer between batches. Then the file gives the freed pages back (incremental vacuum) and
 * the WAL is checkpointed and truncated, so the file on disk shrinks.
 */
export async function pruneSqlite(ctx: PruneContext, request: PruneRequest): Promise<PruneReport> {
  const { db } = ctx;
  const limit = request.batchSize ?? DEFAULT_PRUNE_BATCH;
  const dryRun = request.dryRun ?? false;
  const select = db.prepare(ELIGIBLE_ROOTS);
  const statements = (dryRun ? RUN_COUNTS : RUN_TABLES).map(({ key, sql }) => ({ key, stmt: db.prepare(sql) }));
  const report: PruneReport = { dryRun, runs: 0, rows: emptyPrunedRows(), batches: 0 };
  // A dry run deletes nothing, so it pages by cursor; a real run always takes the oldest left.
  let cursor = { at: -1, id: '' };
  for (;;) {
    const batch = () => {
      const roots = select.all({ before: request.finishedBefore, after_at: cursor.at, after_id: cursor.id, limit }) as {
        id: string;
        completed_at: number;
      }[];
      if (roots.length === 0) return 0;
      const ids = JSON.stringify(roots.map((r) => r.id));
      const rows = emptyPrunedRows();
      for (const { key, stmt } of statements)
        rows[key] = dryRun ? (stmt.get(ids) as { n: number }).n : stmt.run(ids).changes;
      addPrunedRows(report.rows, rows);
      if (dryRun) cursor = { at: roots[roots.length - 1].completed_at, id: roots[roots.length - 1].id };
      return roots.length;
    };
    const runs = dryRun ? batch() : await ctx.write(batch);
    if (runs === 0) break;
    report.runs += runs;
    report.batches++;
    if (dryRun) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!dryRun && report.runs > 0) await giveSpaceBack(db);
  return report;
}

/** Frees the pages prune emptied: incremental vacuum, then a checkpoint that truncates the WAL. */
async function giveSpaceBack(db: Database.Database): Promise<void> {
  if (db.memory) return;
  // Both need the file outside a transaction: wait for the tick's commit.
  while (db.inTransaction) await new Promise<void>((resolve) => setImmediate(resolve));
  const mode = db.pragma('auto_vacuum', { simple: true }) as number;
  // 2 = INCREMENTAL. A file made before millrace chose it is converted once (a full VACUUM).
  if (mode !== 2) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  } else {
    db.pragma('incremental_vacuum');
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
}
