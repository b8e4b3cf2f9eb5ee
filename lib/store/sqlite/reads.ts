import type Database from 'better-sqlite3';
import type { AttemptRecord, JobFilter, JobRecord, Json } from '../../types.js';
import { toAttemptRecord, toJobRecord, type AttemptRow, type JobRow } from '../rows.js';
import { listStatement, type Statements } from './statements.js';

/** The SQLite store's reads of the job tree: a job, its child at a call key, ids by prefix, lists, attempts, descendants, flow status. */
export class SqliteReads {
  /** `list` builds its SQL from the filter; each shape is prepared once. */
  private readonly listStatements = new Map<string, Database.Statement>();

  constructor(
    private readonly db: Database.Database,
    private readonly stmt: Statements,
  ) {}

  get(jobId: string): JobRecord | undefined {
    const row = this.stmt.get.get(jobId) as JobRow | undefined;
    return row && toJobRecord(row);
  }

  findChild(parentJob: string, callKey: string): JobRecord | undefined {
    const row = this.stmt.byCallKey.get(parentJob, callKey) as JobRow | undefined;
    return row && toJobRecord(row);
  }

  matchIds(prefix: string, limit: number): string[] {
    const rows = this.stmt.matchIds.all({ lo: prefix, hi: `${prefix}\uffff`, limit }) as { id: string }[];
    return rows.map((r) => r.id);
  }

  list(filter: JobFilter): JobRecord[] {
    const { sql, params } = listStatement(filter);
    let stmt = this.listStatements.get(sql);
    if (!stmt) this.listStatements.set(sql, (stmt = this.db.prepare(sql)));
    return (stmt.all(params) as JobRow[]).map(toJobRecord);
  }

  attempts(jobId: string): AttemptRecord[] {
    return (this.stmt.attempts.all(jobId) as AttemptRow[]).map(toAttemptRecord);
  }

  descendants(jobId: string): JobRecord[] {
    const target = this.stmt.place.get(jobId) as { root_job: string; path: string } | undefined;
    if (!target) return [];
    const rows = this.stmt.descendants.all({ root: target.root_job, prefix: `${target.path}/` }) as JobRow[];
    return rows.map(toJobRecord);
  }

  flowStatus(jobId: string): Json | undefined {
    const row = this.stmt.getFlowStatus.get(jobId) as { status: string } | undefined;
    return row ? (JSON.parse(row.status) as Json) : undefined;
  }
}
