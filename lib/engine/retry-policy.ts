import type { Outcome, RetryOptions } from '../types.js';

/** Errors that no further attempt can cure. */
// TOO_LARGE: a result over the limit is made by the code, and would be made again.
const NOT_RETRIED = new Set(['NON_RETRYABLE', 'NON_DETERMINISM', 'TOO_LARGE']);

/** Whether a failed attempt's error allows another attempt (attempts left aside). */
export function retriable(outcome: Outcome): boolean {
  return outcome.status === 'failure' && !NOT_RETRIED.has(outcome.error.code ?? '');
}

/** The wait before attempt `attempt + 1`, after attempt `attempt` failed. */
export function backoffMs(retry: RetryOptions | null, attempt: number): number {
  if (!retry) return 0;
  const delay = retry.delay ?? 1;
  const multiplier = retry.multiplier ?? 2;
  const maxDelay = retry.maxDelay ?? 300;
  return Math.round(Math.min(delay * multiplier ** (attempt - 1), maxDelay) * 1000);
}
