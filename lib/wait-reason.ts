import type { JobRecord, QueueSummary } from './types.js';

/**
 * Why a job waits, or did not run, in words for the run page and `millrace show`:
 * "waiting for concurrency key `api:stripe` (3 of 3 running)", "rate limited until 12:00:03",
 * "cached from `<job>`". Undefined when nothing flow control does holds it. `queue` gives the
 * running counts of the job's keys; `now` and `clock` are the reader's.
 */
export function waitReason(
  job: Pick<JobRecord, 'status' | 'flowControl' | 'scheduledFor' | 'cachedFrom'>,
  queue: QueueSummary | undefined,
  now: number,
  clock: (ms: number) => string = isoClock,
): string | undefined {
  if (job.cachedFrom) return `cached from \`${job.cachedFrom}\``;
  if (job.status !== 'queued' || !job.flowControl) return undefined;
  const { concurrency, rateLimit } = job.flowControl;
  if (job.scheduledFor > now) {
    if (rateLimit)
      return `rate limited until ${clock(job.scheduledFor)} (key \`${rateLimit.key}\`, ${rateLimit.limit} per ${rateLimit.perMs / 1000} s)`;
    if (concurrency?.windowMs !== undefined) {
      return `waiting for concurrency key \`${concurrency.key}\` until ${clock(job.scheduledFor)} (${concurrency.limit} starts per ${concurrency.windowMs / 1000} s)`;
    }
    return undefined;
  }
  if (concurrency && concurrency.windowMs === undefined) {
    const key = queue?.keys.find((k) => k.kind === 'concurrency' && k.key === concurrency.key);
    const running = key?.running ?? 0;
    if (running >= concurrency.limit)
      return `waiting for concurrency key \`${concurrency.key}\` (${running} of ${concurrency.limit} running)`;
  }
  return undefined;
}

/** HH:MM:SS in UTC. */
function isoClock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
