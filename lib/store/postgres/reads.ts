import type pg from 'pg';
import type { AttemptRecord, JobFilter, JobRecord } from '../../types.js';
import type { PlaceRow } from '../policy.js';
import { toAttemptRecord, toJobRecord, type AttemptRow, type JobRow } from '../rows.js';
import { one } from './query.js';
import { listStatement } from './sql.js';
import { TickStatement } from './tick-statement.js';

// The PostgreSQL store's reads of the job tree: a job, its child at a call key, ids by prefix,
// lists, attempts, descendants, and a job's place for its log.

export async function getJob(pool: pg.Pool, jobId: string): Promise<JobRecord | undefined> {
  const { rows } = await pool.query<JobRow>({
    name: 'millrace-job',
    text: 'SELECT * FROM jobs WHERE id = $1',
    values: [jobId],
  });
  const row = rows[0];
  return row && toJobRecord(row);
}

/** Jobs by id, the looks of one tick in one statement (a parent waiting on its fan-out's children). */
export function jobReads(pool: pg.Pool): TickStatement<string, JobRecord | undefined> {
  return new TickStatement(
    (jobId) => getJob(pool, jobId),
    async (ids) => {
      const { rows } = await pool.query<JobRow>({
        name: 'millrace-jobs',
        text: 'SELECT * FROM jobs WHERE id = ANY($1::text[])',
        values: [ids],
      });
      const byId = new Map(rows.map((r) => [r.id, toJobRecord(r)]));
      return ids.map((id) => byId.get(id));
    },
  );
}

export async function findChild(pool: pg.Pool, parentJob: string, callKey: string): Promise<JobRecord | undefined> {
  const row = await one<JobRow>(pool, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2', [
    parentJob,
    callKey,
  ]);
  return row && toJobRecord(row);
}

export async function matchIds(pool: pg.Pool, prefix: string, limit: number): Promise<string[]> {
  // Ids are COLLATE "C": the range is the prefix's, byte by byte, straight off the key.
  const { rows } = await pool.query<{ id: string }>(
    'SELECT id FROM jobs WHERE id >= $1 AND id < $2 ORDER BY seq DESC LIMIT $3',
    [prefix, `${prefix}\uffff`, limit],
  );
  return rows.map((r) => r.id);
}

export async function listJobs(pool: pg.Pool, filter: JobFilter): Promise<JobRecord[]> {
  const { sql, params } = listStatement(filter);
  const { rows } = await pool.query<JobRow>(sql, params);
  return rows.map(toJobRecord);
}

export async function listAttempts(pool: pg.Pool, jobId: string): Promise<AttemptRecord[]> {
  const { rows } = await pool.query<AttemptRow>('SELECT * FROM attempts WHERE job_id = $1 ORDER BY attempt', [jobId]);
  return rows.map(toAttemptRecord);
}

export async function descendants(pool: pg.Pool, jobId: string): Promise<JobRecord[]> {
  const { rows } = await pool.query<JobRow>(
    `SELECT d.* FROM jobs t JOIN jobs d ON d.root_job = t.root_job AND starts_with(d.path, t.path || '/')
     WHERE t.id = $1 ORDER BY d.seq`,
    [jobId],
  );
  return rows.map(toJobRecord);
}

/** Where a job's log lines go (itself and its ancestors), and how they are marked. */
export function placeRow(pool: pg.Pool, jobId: string): Promise<PlaceRow | undefined> {
  return one<PlaceRow>(pool, 'SELECT path, kind, entrypoint, script_path FROM jobs WHERE id = $1', [jobId]);
}

/** Places by id, the looks of one tick in one statement (the jobs of a report that log). */
export function placeReads(pool: pg.Pool): TickStatement<string, PlaceRow | undefined> {
  return new TickStatement(
    (jobId) => placeRow(pool, jobId),
    async (ids) => {
      const { rows } = await pool.query<PlaceRow & { id: string }>(
        'SELECT id, path, kind, entrypoint, script_path FROM jobs WHERE id = ANY($1::text[])',
        [ids],
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    },
  );
}
