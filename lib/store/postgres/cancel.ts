import type { JobRecord } from '../../types.js';
import { canceledError } from '../policy.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { CancelRequest } from '../store.js';
import type { Change } from './notifications.js';
import { one, type Tx } from './query.js';
import { CANCEL_ATTEMPTS_SQL, CANCEL_SQL } from './sql.js';

/** A jobs row as PostgreSQL returns it: with its insertion order. */
type PgJobRow = JobRow & { seq: string };

/** Cancels a job and its unfinished descendants, and their running attempts; inside the store's transaction. Returns them in submission order. */
export async function cancelTree(
  tx: Tx,
  notify: (change: Change) => void,
  jobId: string,
  request: CancelRequest,
  at: number,
): Promise<JobRecord[]> {
  const target = await one<{ root_job: string; path: string }>(tx, 'SELECT root_job, path FROM jobs WHERE id = $1', [
    jobId,
  ]);
  if (!target) return [];
  const error = JSON.stringify(canceledError(request.reason));
  const { rows } = await tx.query<PgJobRow>(CANCEL_SQL, [
    jobId,
    target.root_job,
    `${target.path}/`,
    request.reason,
    request.by,
    error,
    at,
  ]);
  if (rows.length === 0) return [];
  await tx.query(CANCEL_ATTEMPTS_SQL, [rows.map((r) => r.id), rows.map((r) => Number(r.attempt)), error, at]);
  notify({ k: 'f', ids: rows.map((r) => r.id) });
  return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toJobRecord);
}
