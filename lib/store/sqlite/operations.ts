import type Database from 'better-sqlite3';
import type { JobProgress, RunTrace } from '../../types.js';
import type { LiveCount, SchemaState } from '../operations.js';
import { schemaVersion, SQLITE_SCHEMA_VERSION } from './migrate.js';

/** The statements of the operations verbs (metrics, readiness, progress), prepared at open. */
export class SqliteOperations {
  private readonly live: Database.Statement;
  private readonly putProgress: Database.Statement;
  private readonly readProgress: Database.Statement;
  private readonly jobExists: Database.Statement;
  private readonly manyProgress: Database.Statement;
  private readonly putTrace: Database.Statement;
  private readonly readTrace: Database.Statement;

  constructor(private readonly db: Database.Database) {
    // Each status off its own partial index (jobs_queued, jobs_lease): no scan of finished jobs.
    this.live = db.prepare(
      `SELECT tag, 'queued' AS status, count(*) AS count FROM jobs WHERE status = 'queued' GROUP BY tag
       UNION ALL
       SELECT tag, 'running', count(*) FROM jobs WHERE status = 'running' GROUP BY tag
       ORDER BY tag, status`,
    );
    this.putProgress = db.prepare(
      `INSERT INTO job_progress (job_id, percent, message, updated_at) VALUES (@job_id, @percent, @message, @at)
       ON CONFLICT (job_id) DO UPDATE SET percent = excluded.percent, message = excluded.message, updated_at = excluded.updated_at`,
    );
    this.readProgress = db.prepare('SELECT percent, message, updated_at FROM job_progress WHERE job_id = ?');
    this.jobExists = db.prepare('SELECT 1 FROM jobs WHERE id = ?');
    this.putTrace = db.prepare(
      'INSERT INTO run_traces (job_id, trace_id, parent_span_id) VALUES (?, ?, ?) ON CONFLICT (job_id) DO NOTHING',
    );
    this.readTrace = db.prepare('SELECT trace_id, parent_span_id FROM run_traces WHERE job_id = ?');
    this.manyProgress = db.prepare(
      'SELECT job_id, percent, message, updated_at FROM job_progress WHERE job_id IN (SELECT value FROM json_each(?))',
    );
  }

  countLive(): LiveCount[] {
    return this.live.all() as LiveCount[];
  }

  schemaState(): SchemaState {
    return { version: schemaVersion(this.db) ?? 0, latest: SQLITE_SCHEMA_VERSION };
  }

  /** Runs inside a write of the store's tick transaction. */
  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>, at: number): boolean {
    if (!this.jobExists.get(jobId)) return false;
    this.putProgress.run({ job_id: jobId, percent: progress.percent, message: progress.message, at });
    return true;
  }

  /** Runs inside a write of the store's tick transaction. */
  setRunTrace(rootJob: string, trace: RunTrace): void {
    this.putTrace.run(rootJob, trace.traceId, trace.parentSpanId);
  }

  getRunTrace(rootJob: string): RunTrace | undefined {
    const row = this.readTrace.get(rootJob) as { trace_id: string; parent_span_id: string } | undefined;
    return row && { traceId: row.trace_id, parentSpanId: row.parent_span_id };
  }

  listProgress(jobIds: readonly string[]): Map<string, JobProgress> {
    const rows = this.manyProgress.all(JSON.stringify(jobIds)) as {
      job_id: string;
      percent: number;
      message: string | null;
      updated_at: number;
    }[];
    return new Map(rows.map((r) => [r.job_id, { percent: r.percent, message: r.message, updatedAt: r.updated_at }]));
  }

  getProgress(jobId: string): JobProgress | undefined {
    const row = this.readProgress.get(jobId) as
      { percent: number; message: string | null; updated_at: number } | undefined;
    return row && { percent: row.percent, message: row.message, updatedAt: row.updated_at };
  }
}
