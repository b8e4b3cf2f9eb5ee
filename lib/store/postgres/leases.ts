import type { ErrorRecord, JobRecord } from '../../types.js';
import { leaseLimitError, leaseLostError } from '../policy.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { ExpiredLeases } from '../store.js';
import type { Change } from './notifications.js';
import { one, type Tx } from './query.js';
import { ATTEMPT_DONE_SQL, FINISH_SQL, COUNT_LOST_LEASES_SQL, REQUEUE_SQL } from './sql.js';

// Jobs whose holder let go of them: given back by their worker (release), or lost with it
// (expireLeases). Each runs inside the store's transaction, and reports what it changed.

/** A running job given back by its worker: the attempt fails with `error`, and the job is queued with one more attempt allowed. */
export async function release(
  tx: Tx,
  notify: (change: Change) => void,
  jobId: string,
  error: ErrorRecord,
  at: number,
): Promise<JobRecord | undefined> {
  const job = await one<JobRow>(tx, `SELECT * FROM jobs WHERE id = $1 AND status = 'running' FOR UPDATE`, [jobId]);
  if (!job) return undefined;
  const attempt = Number(job.attempt);
  await tx.query(ATTEMPT_DONE_SQL, [jobId, attempt, 'failure', JSON.stringify(error), at]);
  await allowAttempt(tx, jobId, attempt + 1);
  const row = await one<JobRow>(tx, REQUEUE_SQL, [jobId, at]);
  notify({ k: 'q', due: at });
  return row && toJobRecord(row);
}

/** Running jobs whose lease has passed: queued again with one more attempt, or failed after `maxLostLeases` lost leases. */
export async function expireLeases(
  tx: Tx,
  notify: (change: Change) => void,
  now: number,
  maxLostLeases: number,
): Promise<ExpiredLeases> {
  // SKIP LOCKED: two servers sweeping at once split the expired jobs between them.
  const { rows } = await tx.query<JobRow>(
    `SELECT * FROM jobs WHERE status = 'running' AND lease_until < $1 ORDER BY seq FOR UPDATE SKIP LOCKED`,
    [now],
  );
  const out: ExpiredLeases = { requeued: [], failed: [] };
  for (const job of rows.map(toJobRecord)) {
    const lost = leaseLostError(job);
    await tx.query(ATTEMPT_DONE_SQL, [job.id, job.attempt, 'failure', JSON.stringify(lost), now]);
    const lostSoFar = (await one<{ n: number }>(tx, COUNT_LOST_LEASES_SQL, [job.id]))!.n;
    if (lostSoFar < maxLostLeases) {
      await allowAttempt(tx, job.id, job.attempt + 1);
      out.requeued.push(toJobRecord((await one<JobRow>(tx, REQUEUE_SQL, [job.id, now]))!));
    } else {
      const error = JSON.stringify(leaseLimitError(lost, lostSoFar));
      out.failed.push(toJobRecord((await one<JobRow>(tx, FINISH_SQL, [job.id, 'failure', null, error, now]))!));
    }
  }
  if (out.requeued.length > 0) notify({ k: 'q', due: now });
  if (out.failed.length > 0) notify({ k: 'f', ids: out.failed.map((j) => j.id) });
  return out;
}

/** A lost attempt is not the job's failure: it gets one more. */
async function allowAttempt(tx: Tx, jobId: string, attempt: number): Promise<void> {
  await tx.query('UPDATE jobs SET max_attempts = greatest(max_attempts, $2) WHERE id = $1', [jobId, attempt]);
}
