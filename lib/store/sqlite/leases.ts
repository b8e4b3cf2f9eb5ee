import type { ErrorRecord, JobRecord } from '../../types.js';
import { heldBy, leaseLimitError, leaseLostError } from '../policy.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { ExpiredLeases, HeldLease } from '../store.js';
import type { Statements } from './statements.js';

// Jobs whose holder let go of them: given back by their worker (release), or lost with it
// (expired leases). Each runs inside a write of the store's tick transaction.

/** A running job given back by its worker: the attempt fails with `error`, and the job is queued with one more attempt allowed. */
export function releaseJob(stmt: Statements, jobId: string, error: ErrorRecord, at: number): JobRecord | undefined {
  const job = stmt.get.get(jobId) as JobRow | undefined;
  if (!job || job.status !== 'running') return undefined;
  const attempt = Number(job.attempt);
  stmt.attemptDone.run({ id: jobId, attempt, status: 'failure', error: JSON.stringify(error), at });
  stmt.allowAttempt.run({ id: jobId, attempt: attempt + 1 });
  return toJobRecord(stmt.requeue.get({ id: jobId, scheduled_for: at }) as JobRow);
}

/** Running jobs whose lease has passed: queued again with one more attempt, or failed after `maxLostLeases` lost leases. */
export function expireLeases(stmt: Statements, now: number, maxLostLeases: number): ExpiredLeases {
  const expired = (stmt.expired.all({ now }) as JobRow[]).map(toJobRecord);
  const out: ExpiredLeases = { requeued: [], failed: [] };
  for (const job of expired) {
    const lost = leaseLostError(job);
    stmt.attemptDone.run({ id: job.id, attempt: job.attempt, status: 'failure', error: JSON.stringify(lost), at: now });
    const lostSoFar = (stmt.countLostLeases.get(job.id) as { n: number }).n;
    if (lostSoFar < maxLostLeases) {
      stmt.allowAttempt.run({ id: job.id, attempt: job.attempt + 1 });
      out.requeued.push(toJobRecord(stmt.requeue.get({ id: job.id, scheduled_for: now }) as JobRow));
    } else {
      const error = JSON.stringify(leaseLimitError(lost, lostSoFar));
      const row = stmt.finish.get({ id: job.id, status: 'failure', result: null, error, at: now });
      out.failed.push(toJobRecord(row as JobRow));
    }
  }
  return out;
}

/**
 * Whether job `jobId` is held by `held` (no lease named: yes). Read in the write's own
 * transaction, which no other writer enters (one writer per file), so nothing changes the job
 * between this check and the write.
 */
export function holds(stmt: Statements, jobId: string, held: HeldLease | undefined): boolean {
  if (!held) return true;
  const row = stmt.get.get(jobId) as JobRow | undefined;
  return row !== undefined && heldBy(row, held);
}
