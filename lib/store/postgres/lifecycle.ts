import type pg from 'pg';
import type { ErrorRecord, JobRecord, Outcome } from '../../types.js';
import { outcomeColumns, toJobRecord, type JobRow } from '../rows.js';
import type { Change } from './notifications.js';
import { rowCount } from './query.js';
import { COMPLETE_WITH_ATTEMPT_SQL, MARK_STARTED_SQL, RETRY_SQL } from './sql.js';

// The PostgreSQL store's writes of a claimed job: started, leases renewed, finished, retried.
// Each is one statement (one round trip); its change is announced after it commits.

export async function markStarted(
  pool: pg.Pool,
  announce: (change: Change) => void,
  jobId: string,
  at: number,
): Promise<void> {
  const result = await pool.query(MARK_STARTED_SQL, [jobId, at]);
  if (rowCount(result) > 0) announce({ k: 's', ids: [jobId] });
}

/** Renews the leases the worker still holds; returns the ids it no longer holds. */
export async function renewLeases(
  pool: pg.Pool,
  workerId: string,
  jobIds: readonly string[],
  leaseUntil: number,
): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `UPDATE jobs SET lease_until = $3 WHERE worker = $1 AND status = 'running' AND id = ANY($2::text[]) RETURNING id`,
    [workerId, [...jobIds], leaseUntil],
  );
  const mine = new Set(rows.map((r) => r.id));
  return jobIds.filter((id) => !mine.has(id));
}

export async function finish(
  pool: pg.Pool,
  announce: (change: Change) => void,
  jobId: string,
  outcome: Outcome,
  at: number,
): Promise<JobRecord | undefined> {
  const { result, error } = outcomeColumns(outcome);
  const { rows } = await pool.query<JobRow>(COMPLETE_WITH_ATTEMPT_SQL, [jobId, outcome.status, result, error, at]);
  if (!rows[0]) return undefined;
  announce({ k: 'f', ids: [jobId] });
  // A slot of its concurrency key is free: other servers' claims look again.
  if (rows[0].concurrency_key) announce({ k: 'q', due: at });
  return toJobRecord(rows[0]);
}

export async function retry(
  pool: pg.Pool,
  announce: (change: Change) => void,
  jobId: string,
  error: ErrorRecord,
  scheduledFor: number,
  at: number,
): Promise<JobRecord | undefined> {
  const { rows } = await pool.query<JobRow>(RETRY_SQL, [jobId, scheduledFor, JSON.stringify(error), at]);
  if (!rows[0]) return undefined;
  announce({ k: 'q', due: scheduledFor });
  return toJobRecord(rows[0]);
}
