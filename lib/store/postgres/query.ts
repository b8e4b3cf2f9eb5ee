import type pg from 'pg';
import type { Change } from './notifications.js';

/** A pooled connection inside a transaction. */
export type Tx = pg.PoolClient;

/** The first row of a query, or undefined. */
export async function one<R extends pg.QueryResultRow>(
  on: pg.Pool | Tx,
  sql: string,
  params: unknown[] = [],
): Promise<R | undefined> {
  const { rows } = await on.query<R>(sql, params);
  return rows[0];
}

export function rowCount(result: pg.QueryResult): number {
  return result.rowCount ?? 0;
}

/**
 * Runs `fn` in a transaction on a connection of the pool; the changes it reports with `notify`
 * go to `announce` once it has committed (never for a rollback: nothing changed).
 */
export async function transaction<T>(
  pool: pg.Pool,
  announce: (change: Change) => void,
  fn: (tx: Tx, notify: (change: Change) => void) => Promise<T>,
): Promise<T> {
  const tx = await pool.connect();
  const changes: Change[] = [];
  let broken: Error | undefined;
  try {
    await tx.query('BEGIN');
    const value = await fn(tx, (change) => changes.push(change));
    await tx.query('COMMIT');
    for (const change of changes) announce(change);
    return value;
  } catch (err) {
    await tx.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    tx.release(broken);
  }
}
