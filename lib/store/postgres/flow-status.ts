import type pg from 'pg';
import type { Json } from '../../types.js';
import { one } from './query.js';

// A flow job's status, stored beside the job (one row per flow job, replaced at each report).

export async function setFlowStatus(pool: pg.Pool, jobId: string, status: Json, at: number): Promise<void> {
  await pool.query(
    `INSERT INTO flow_status (job_id, status, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
    [jobId, JSON.stringify(status), at],
  );
}

export async function getFlowStatus(pool: pg.Pool, jobId: string): Promise<Json | undefined> {
  const row = await one<{ status: string }>(pool, 'SELECT status FROM flow_status WHERE job_id = $1', [jobId]);
  return row ? (JSON.parse(row.status) as Json) : undefined;
}
