import { ReleasedError } from '../errors.js';
import { errorRecordOf, toErrorRecord } from '../error-record.js';
import type { ErrorRecord, JobRecord } from '../types.js';

/** What becomes of a job whose executor thread is gone: it fails, or goes back to the queue. */
export type ThreadExitEnd = { kind: 'fail'; error: ErrorRecord } | { kind: 'release'; error: ErrorRecord };

/**
 * The end of each job on a thread that is gone. Replaced on purpose (`why`), its jobs go
 * back to the queue, through no fault of theirs. Died of something no job can be blamed for
 * by name (out of memory, a native crash; a job's process.exit fails that job alone and
 * does not end the thread): if exactly one of its jobs was working, that one is the likely
 * cause and fails; the others, and all of them when it cannot be told, are released.
 */
export function threadExitEnds<R extends { job: JobRecord; slot: boolean }>(
  onThread: readonly R[],
  why: string | undefined,
  error: Error,
): { running: R; end: ThreadExitEnd }[] {
  const working = onThread.filter((r) => r.slot);
  const culprit = why === undefined && working.length === 1 ? working[0] : undefined;
  return onThread.map((running) => {
    if (running === culprit) {
      const message = `Its executor thread died while it was the only job working there: ${error.message}`;
      return { running, end: { kind: 'fail', error: { ...toErrorRecord(error), message } } };
    }
    const message =
      why !== undefined
        ? `Its executor thread was replaced: ${why}`
        : `Its executor thread died (${error.message}) while running ${working.length} jobs at once`;
    return { running, end: { kind: 'release', error: errorRecordOf(ReleasedError, message) } };
  });
}
