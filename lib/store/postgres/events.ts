import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { FINISHED_STATUSES, type EventRecord, type JobRecord, type JobStatus, type Json } from '../../types.js';
import { RESUME_SECRET, toEventRecord, type EventRow } from '../event-rows.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { EventDelivery } from '../store.js';
import type { Change } from './notifications.js';
import { one, type Tx } from './query.js';

/** $1 wait, $2 payload, $3 at: a queued wait finished by its event (no worker ever runs it). */
const FINISH_WAIT_SQL = `
  UPDATE jobs SET status = 'success', result = $2, attempt = 1, started_at = $3, completed_at = $3, duration_ms = 0, lease_until = NULL
  WHERE id = $1 AND kind = 'wait' AND status = 'queued'
  RETURNING *`;

/**
 * Both verbs first lock the row of the job the event is for (FOR UPDATE): a send on one server
 * and a wait's take on another run one after the other, so an event sent while a wait is being
 * queued is either delivered to it or kept and then taken by it, never lost between them.
 */
export async function sendEvent(
  tx: Tx,
  notify: (change: Change) => void,
  jobId: string,
  name: string,
  payload: Json,
  at: number,
): Promise<EventDelivery> {
  const row = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE id = $1 FOR UPDATE', [jobId]);
  if (!row) return { status: 'unknown' };
  if (FINISHED_STATUSES.includes(row.status as JobStatus)) return { status: 'finished', job: toJobRecord(row) };
  const text = JSON.stringify(payload);
  const wait = await one<{ id: string }>(
    tx,
    `SELECT id FROM jobs WHERE parent_job = $1 AND kind = 'wait' AND entrypoint = $2 AND status = 'queued' ORDER BY seq LIMIT 1`,
    [jobId, name],
  );
  const finished = wait && (await one<JobRow>(tx, FINISH_WAIT_SQL, [wait.id, text, at]));
  await tx.query('INSERT INTO events (job_id, name, payload, sent_at, wait_job) VALUES ($1, $2, $3, $4, $5)', [
    jobId,
    name,
    text,
    at,
    finished ? finished.id : null,
  ]);
  if (!finished) return { status: 'kept' };
  notify({ k: 'f', ids: [finished.id] });
  return { status: 'delivered', wait: toJobRecord(finished) };
}

export async function takeEvent(
  tx: Tx,
  notify: (change: Change) => void,
  waitJobId: string,
  at: number,
): Promise<JobRecord | undefined> {
  const wait = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE id = $1', [waitJobId]);
  if (!wait || wait.kind !== 'wait' || wait.parent_job === null) return undefined;
  await tx.query('SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE', [wait.parent_job]);
  const kept = await one<{ seq: string; payload: string }>(
    tx,
    'SELECT seq, payload FROM events WHERE job_id = $1 AND name = $2 AND wait_job IS NULL ORDER BY seq LIMIT 1',
    [wait.parent_job, wait.entrypoint],
  );
  if (!kept) return undefined;
  const finished = await one<JobRow>(tx, FINISH_WAIT_SQL, [waitJobId, kept.payload, at]);
  if (!finished) return undefined;
  await tx.query('UPDATE events SET wait_job = $1 WHERE seq = $2', [waitJobId, kept.seq]);
  notify({ k: 'f', ids: [waitJobId] });
  return toJobRecord(finished);
}

export async function listEvents(pool: pg.Pool, jobId: string): Promise<EventRecord[]> {
  const { rows } = await pool.query<EventRow>('SELECT * FROM events WHERE job_id = $1 ORDER BY seq', [jobId]);
  return rows.map(toEventRecord);
}

/** The first secret made stands, whichever server made it. */
export async function signingSecret(pool: pg.Pool): Promise<string> {
  await pool.query('INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [
    RESUME_SECRET,
    randomBytes(32).toString('hex'),
    Date.now(),
  ]);
  const row = await one<{ value: string }>(pool, 'SELECT value FROM secrets WHERE name = $1', [RESUME_SECRET]);
  return row!.value;
}
