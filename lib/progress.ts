import { ProgressError } from './errors-operations.js';
import { describeValue } from './describe.js';
import type { JobProgress } from './types.js';

/** The longest progress message kept; a longer one is refused, not cut. */
export const MAX_PROGRESS_MESSAGE = 1000;

/**
 * A progress report checked: `percent` a number from 0 to 100 (rounded down to a whole one, as
 * Windmill's client does), `message` a string of at most MAX_PROGRESS_MESSAGE characters, or
 * none. Anything else is a ProgressError saying what was expected and what came.
 */
export function checkProgress(percent: unknown, message?: unknown): Omit<JobProgress, 'updatedAt'> {
  if (typeof percent !== 'number' || !Number.isFinite(percent) || percent < 0 || percent > 100) {
    throw new ProgressError(`Progress: expected a percentage from 0 to 100, got ${describeValue(percent)}`);
  }
  if (
    message !== undefined &&
    message !== null &&
    (typeof message !== 'string' || message.length > MAX_PROGRESS_MESSAGE)
  ) {
    throw new ProgressError(
      `Progress message: expected a string of at most ${MAX_PROGRESS_MESSAGE} characters, got ${typeof message === 'string' ? `${message.length} characters` : describeValue(message)}`,
    );
  }
  return { percent: Math.floor(percent), message: typeof message === 'string' ? message : null };
}
