import type pg from 'pg';
import type { WorkerRecord } from '../../types.js';
import { toWorkerRecord, type WorkerRow } from '../rows.js';
import { LIST_WORKERS_SQL } from './sql.js';

// The PostgreSQL store's worker registry: heartbeats, and the workers seen lately.

export async function touchWorker(
  pool: pg.Pool,
  worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>,
  now: number,
): Promise<void> {
  await pool.query(
    `INSERT INTO workers (id, workspace, tags, hostname, started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (id) DO UPDATE SET tags = EXCLUDED.tags, last_seen = EXCLUDED.last_seen`,
    [worker.id, worker.workspace, JSON.stringify(worker.tags), worker.hostname, now],
  );
}

export async function listWorkers(pool: pg.Pool, workspace: string, since: number): Promise<WorkerRecord[]> {
  const { rows } = await pool.query<WorkerRow>(LIST_WORKERS_SQL, [workspace, since]);
  return rows.map(toWorkerRecord);
}
