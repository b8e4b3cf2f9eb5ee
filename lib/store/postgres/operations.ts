import type pg from 'pg';
import type { JobProgress, RunTrace } from '../../types.js';
import {
  addPrunedRows,
  DEFAULT_PRUNE_BATCH,
  emptyPrunedRows,
  type LiveCount,
  type PrunedRows,
  type PruneReport,
  type PruneRequest,
  type SchemaState,
} from '../operations.js';
import { PG_SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { one, rowCount } from './query.js';

// The operations verbs on PostgreSQL (metrics, readiness, progress, prune): docs/operations.md.

export async function countLive(pool: pg.Pool): Promise<LiveCount[]> {
  const { rows } = await pool.query<{ tag: string; status: 'queued' | 'running'; count: string }>(
    "SELECT tag, status, count(*) AS count FROM jobs WHERE status IN ('queued', 'running') GROUP BY tag, status ORDER BY tag, status",
  );
  return rows.map((r) => ({ tag: r.tag, status: r.status, count: Number(r.count) }));
}

export async function schemaState(pool: pg.Pool, schema: string): Promise<SchemaState> {
  const client = await pool.connect();
  try {
    return { version: await schemaVersion(client, schema), latest: PG_SCHEMA_VERSION };
  } finally {
    client.release();
  }
}

export async function setProgress(
  pool: pg.Pool,
  jobId: string,
  progress: Omit<JobProgress, 'updatedAt'>,
  at: number,
): Promise<boolean> {
  const result = await pool.query(
    `INSERT INTO job_progress (job_id, percent, message, updated_at) SELECT id, $2, $3, $4 FROM jobs WHERE id = $1
     ON CONFLICT (job_id) DO UPDATE SET percent = excluded.percent, message = excluded.message, updated_at = excluded.updated_at`,
    [jobId, progress.percent, progress.message, at],
  );
  return rowCount(result) > 0;
}

export async function getProgress(pool: pg.Pool, jobId: string): Promise<JobProgress | undefined> {
  const row = await one<{ percent: number; message: string | null; updated_at: string }>(
    pool,
    'SELECT percent, message, updated_at FROM job_progress WHERE job_id = $1',
    [jobId],
  );
  return row && { percent: row.percent, message: row.message, updatedAt: Number(row.updated_at) };
}

export async function setRunTrace(pool: pg.Pool, rootJob: string, trace: RunTrace): Promise<void> {
  await pool.query(
    'INSERT INTO run_traces (job_id, trace_id, parent_span_id) VALUES ($1, $2, $3) ON CONFLICT (job_id) DO NOTHING',
    [rootJob, trace.traceId, trace.parentSpanId],
  );
}

export async function getRunTrace(pool: pg.Pool, rootJob: string): Promise<RunTrace | undefined> {
  const row = await one<{ trace_id: string; parent_span_id: string }>(
    pool,
    'SELECT trace_id, parent_span_id FROM run_traces WHERE job_id = $1',
    [rootJob],
  );
  return row && { traceId: row.trace_id, parentSpanId: row.parent_span_id };
}

export async function listProgress(pool: pg.Pool, jobIds: readonly string[]): Promise<Map<string, JobProgress>> {
  const { rows } = await pool.query<{ job_id: string; percent: number; message: string | null; updated_at: string }>(
    'SELECT job_id, percent, message, updated_at FROM job_progress WHERE job_id = ANY($1::text[])',
    [jobIds],
  );
  return new Map(
    rows.map((r) => [r.job_id, { percent: r.percent, message: r.message, updatedAt: Number(r.updated_at) }]),
  );
}

/**
 * The tables that hold a run's rows, each deleted by the ids of the run's jobs ($1: the roots).
 * THE place to add a table keyed by job: prune deletes a run across every table listed here, `jobs`
 * last. (Schedules are not a run's: a schedule's `last_job` may name a pruned run.)
 */
const RUN_TABLES: readonly { key: keyof PrunedRows; sql: string }[] = [
  { key: 'logs', sql: 'DELETE FROM logs WHERE job_id IN (SELECT id FROM jobs WHERE root_job = ANY($1::text[]))' },
  {
    key: 'attempts',
    sql: 'DELETE FROM attempts WHERE job_id IN (SELECT id FROM jobs WHERE root_job = ANY($1::text[]))',
  },
  {
    key: 'flowStatus',
    sql: 'DELETE FROM flow_status WHERE job_id IN (SELECT id FROM jobs WHERE root_job = ANY($1::text[]))',
  },
  {
    key: 'progress',
    sql: 'DELETE FROM job_progress WHERE job_id IN (SELECT id FROM jobs WHERE root_job = ANY($1::text[]))',
  },
  { key: 'traces', sql: 'DELETE FROM run_traces WHERE job_id = ANY($1::text[])' },
  { key: 'events', sql: 'DELETE FROM events WHERE job_id IN (SELECT id FROM jobs WHERE root_job = ANY($1::text[]))' },
  { key: 'jobs', sql: 'DELETE FROM jobs WHERE root_job = ANY($1::text[])' },
];
const RUN_COUNTS = RUN_TABLES.map(({ key, sql }) => ({
  key,
  sql: sql.replace(/^DELETE FROM/, 'SELECT count(*) AS n FROM'),
}));

/**
 * Roots finished before $1, after the cursor ($2, $3), whose run has no job queued or running.
 * FOR UPDATE SKIP LOCKED: two servers pruning at once take different runs.
 */
const ELIGIBLE_ROOTS = `
  SELECT r.id, r.completed_at FROM jobs r
  WHERE r.parent_job IS NULL AND r.status IN ('success', 'failure', 'canceled') AND r.completed_at < $1
    AND (r.completed_at, r.id) > ($2, $3)
    AND NOT EXISTS (SELECT 1 FROM jobs d WHERE d.root_job = r.id AND d.status IN ('queued', 'running'))
  ORDER BY r.completed_at, r.id
  LIMIT $4`;

/**
 * Deletes finished runs a batch at a time, one transaction per batch: each holds its rows'
 * locks briefly, and leaves a batch of dead rows that autovacuum reclaims while the next runs.
 */
export async function pruneRuns(pool: pg.Pool, request: PruneRequest): Promise<PruneReport> {
  const limit = request.batchSize ?? DEFAULT_PRUNE_BATCH;
  const dryRun = request.dryRun ?? false;
  const report: PruneReport = { dryRun, runs: 0, rows: emptyPrunedRows(), batches: 0 };
  let cursor: [number, string] = [-1, ''];
  for (;;) {
    const tx = await pool.connect();
    let runs = 0;
    try {
      await tx.query('BEGIN');
      const { rows: roots } = await tx.query<{ id: string; completed_at: string }>(
        `${ELIGIBLE_ROOTS}${dryRun ? '' : ' FOR UPDATE OF r SKIP LOCKED'}`,
        [request.finishedBefore, ...cursor, limit],
      );
      runs = roots.length;
      if (runs > 0) {
        const ids = roots.map((r) => r.id);
        const rows = emptyPrunedRows();
        for (const { key, sql } of dryRun ? RUN_COUNTS : RUN_TABLES) {
          const result = await tx.query<{ n: string }>(sql, [ids]);
          rows[key] = dryRun ? Number(result.rows[0].n) : rowCount(result);
        }
        addPrunedRows(report.rows, rows);
        // A dry run deletes nothing, so it pages on; so does a real one past rows another server holds.
        const last = roots[roots.length - 1];
        cursor = [Number(last.completed_at), last.id];
      }
      await tx.query(dryRun ? 'ROLLBACK' : 'COMMIT');
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => undefined);
      tx.release();
      throw err;
    }
    tx.release();
    if (runs === 0) break;
    report.runs += runs;
    report.batches++;
  }
  return report;
}
