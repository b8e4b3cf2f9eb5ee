import type pg from 'pg';
import type { JobRow } from '../rows.js';
import { INSERT_BATCH_SQL, INSERT_COLUMN_TYPES, INSERT_SQL } from './sql.js';
import { TickStatement } from './tick-statement.js';

/**
 * New jobs, inserted a tick at a time (tick-statement.ts): the jobs of one tick (a fan-out's
 * 1,000 task calls, which a worker sends in one request) go together in one statement. Both
 * statements are named: each connection parses and plans them once (url.ts).
 */
export class JobInserts {
  private readonly statement: TickStatement<unknown[], JobRow | undefined>;

  constructor(pool: pg.Pool) {
    this.statement = new TickStatement(
      async (values) => (await pool.query<JobRow>({ name: 'millrace-insert', text: INSERT_SQL, values })).rows[0],
      async (batch) => {
        const columns = INSERT_COLUMN_TYPES.map((_, c) => batch.map((values) => values[c]));
        const { rows } = await pool.query<JobRow>({
          name: 'millrace-insert-batch',
          text: INSERT_BATCH_SQL,
          values: columns,
        });
        const byId = new Map(rows.map((r) => [r.id, r]));
        return batch.map((values) => byId.get(values[0] as string));
      },
    );
  }

  /**
   * Inserts a new job (its values in INSERT_COLUMN_TYPES' order), its root and path taken from
   * its parent; resolves to its row, or to nothing when its call is already recorded or its
   * parent is missing.
   */
  insert(values: unknown[]): Promise<JobRow | undefined> {
    return this.statement.run(values);
  }
}
