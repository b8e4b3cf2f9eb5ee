import { FINISHED_STATUSES, type JobRecord } from '../types.js';
import { HttpError } from './http-error.js';

/** Who claims to run a job: the worker's id and the attempt its claim gave it. */
export interface LeaseClaim {
  workerId: string;
  attempt: number;
}

/**
 * Why `claim` does not hold `job`'s current lease, or undefined when it does. A worker holds a
 * job from its claim (which records the worker and the attempt) until it reports the end, the
 * job is canceled, or the lease runs out and the job goes back to the queue.
 */
export function whyNotHeld(job: JobRecord, claim: LeaseClaim): string | undefined {
  if (job.status === 'queued') return `job ${job.id} is queued: no worker has claimed it`;
  if (FINISHED_STATUSES.includes(job.status)) return `job ${job.id} has finished (${job.status})`;
  if (job.worker !== claim.workerId || job.attempt !== claim.attempt) {
    return `job ${job.id} is running attempt ${job.attempt} on worker ${job.worker}, not attempt ${claim.attempt} on worker ${claim.workerId}`;
  }
  return undefined;
}

/** The 409 for reports (or task calls) on jobs the caller does not hold; `jobs` lists them for the worker. */
export function leaseNotHeld(what: string, reasons: readonly { jobId: string; why: string }[]): HttpError {
  const jobs = [...new Set(reasons.map((r) => r.jobId))];
  return new HttpError(
    409,
    'LEASE_NOT_HELD',
    `${what} refused, nothing was written: ${reasons.map((r) => r.why).join('; ')}. ` +
      'A worker may change only the jobs it holds the current lease of (its lease may have run out, or the job was canceled)',
    undefined,
    jobs,
  );
}

/** Throws LEASE_NOT_HELD unless `claim` holds `job`'s current lease. */
export function assertHeld(what: string, job: JobRecord, claim: LeaseClaim): void {
  const why = whyNotHeld(job, claim);
  if (why) throw leaseNotHeld(what, [{ jobId: job.id, why }]);
}
