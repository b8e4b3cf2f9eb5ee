import type pg from 'pg';
import { TickBatch } from '../../tick-batch.js';
import type { JobRow } from '../rows.js';
import { INSERT_BATCH_SQL, INSERT_COLUMN_TYPES, INSERT_SQL } from './sql.js';

interface PendingInsert {
  /** The job's values, in INSERT_COLUMN_TYPES' order. */
  values: unknown[];
  resolve: (row: JobRow | undefined) => void;
  reject: (err: unknown) => void;
}

/**
 * New jobs, inserted a tick at a time. The jobs of one tick (a fan-out's 1,000 task calls,
 * which a worker sends in one request) go together in one statement and one round trip
 * instead of 1,000; should that statement fail, each job is tried alone, so that an error
 * reaches only the caller whose job caused it.
 */
export class JobInserts {
  private readonly batch = new TickBatch<PendingInsert>((batch) => this.flush(batch));

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Inserts a new job, its root and path taken from its parent; resolves to its row, or to
   * nothing when its call is already recorded or its parent is missing.
   */
  insert(values: unknown[]): Promise<JobRow | undefined> {
    return new Promise((resolve, reject) => this.batch.add({ values, resolve, reject }));
  }

  private async flush(batch: PendingInsert[]): Promise<void> {
    const alone = (b: PendingInsert) =>
      this.pool.query<JobRow>(INSERT_SQL, b.values).then(({ rows }) => b.resolve(rows[0]), b.reject);
    if (batch.length === 1) return alone(batch[0]);
    try {
      const columns = INSERT_COLUMN_TYPES.map((_, c) => batch.map((b) => b.values[c]));
      const { rows } = await this.pool.query<JobRow>(INSERT_BATCH_SQL, columns);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const b of batch) b.resolve(byId.get(b.values[0] as string));
    } catch {
      // Nothing of the statement was written: each job again, alone.
      await Promise.all(batch.map(alone));
    }
  }
}
