import { CanceledError, TaskError } from '../errors.js';
import { decode } from '../serialize.js';
import { jobName, type JobRecord } from '../types.js';

/** A finished job's result, decoded; a failed job throws a TaskError, a canceled one a CanceledError. */
export function resultOf(job: JobRecord): unknown {
  switch (job.status) {
    case 'success':
      return decode(job.result ?? null);
    case 'canceled':
      throw new CanceledError(job.id, job.error?.message ?? 'canceled');
    default:
      throw new TaskError({
        jobId: job.id,
        taskName: jobName(job),
        tag: job.tag,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
        error: job.error ?? { name: 'Error', message: `job ended as ${job.status}` },
      });
  }
}
