import { NotInJobError } from '../errors.js';
import { fromErrorRecord } from '../error-record.js';
import { checkProgress } from '../progress.js';
import { runtime } from '../task/runtime.js';
import type { JobProgress } from '../types.js';
import { connection } from './helpers.js';

/**
 * Says how far along the running job is: `percent` from 0 to 100 (rounded down), and what it is
 * doing now. The last report stands; it is stored in line with the job's log, and shown by the
 * run page's bar and `millrace show`. Outside a job it throws NotInJobError; a bad value, a
 * ProgressError.
 */
export function setProgress(percent: number, message?: string): void {
  const scope = runtime.als.getStore();
  if (!scope)
    throw new NotInJobError('setProgress() was called outside a job: only a running job can report its progress');
  const progress = checkProgress(percent, message);
  scope.setProgress(progress.percent, progress.message);
}

/** A job's last progress report, or undefined when it made none. Inside a job or outside (through the configured connection). */
export async function getProgress(jobId: string): Promise<JobProgress | undefined> {
  const scope = runtime.als.getStore();
  if (scope) {
    const outcome = await scope.jobOp('progress', jobId);
    if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
    return (outcome.result as unknown as JobProgress | null) ?? undefined;
  }
  return (await connection()).progress(jobId);
}
