import { errorRecordOf } from '../error-record.js';
import { ReleasedError } from '../errors.js';
import type { ErrorRecord, JobRecord } from '../types.js';

/** What draining needs of the Worker. */
export interface DrainParts {
  workerId: string;
  /** Stops the claim loop (an open long poll ends) and resolves once it has stopped. */
  stopClaiming(): Promise<void>;
  /** Removes and returns the jobs claimed ahead that have not started. */
  takeClaimed(): JobRecord[];
  /** The jobs running now (parents awaiting children included). */
  running(): string[];
  /** Resolves when no job runs and every end has been reported. */
  whenIdle(): Promise<void>;
  /** Stops a running job's code; its end is no longer reported. */
  stopJob(jobId: string, error: ErrorRecord): void;
  /** Puts a job back in the queue (after its buffered log lines are written). */
  release(jobId: string, error: ErrorRecord): Promise<void>;
}

/** What a drain did. */
export interface DrainReport {
  /** Jobs claimed ahead, released unstarted at once. */
  releasedClaimed: string[];
  /** Jobs still running when the grace period ended, stopped and released. */
  releasedRunning: string[];
}

/**
 * A worker told to stop (SIGTERM, SIGINT): it claims no more, gives the jobs it claimed ahead
 * back to the queue at once (another worker takes them now, not when their lease would have
 * run out), lets its running jobs finish for up to `graceMs`, then stops and releases those
 * left. A released job runs again elsewhere and replays the calls it had recorded.
 */
export async function drainWorker(parts: DrainParts, graceMs: number): Promise<DrainReport> {
  const release = (ids: readonly string[], why: string) =>
    Promise.all(
      ids.map((id) =>
        parts.release(id, errorRecordOf(ReleasedError, `Worker ${parts.workerId} ${why}`)).catch((err: unknown) => {
          console.error(
            `millrace worker ${parts.workerId}: releasing ${id} failed (its lease will run out instead): ${(err as Error).message}`,
          );
        }),
      ),
    );
  // Taken before the claim loop has stopped (a claim in flight may take a moment to end), so
  // that a slot freed meanwhile does not start them; what that last claim brings is taken after.
  const claimedFirst = parts.takeClaimed();
  const stopped = parts.stopClaiming();
  const releasing = release(
    claimedFirst.map((j) => j.id),
    'shut down before starting the job',
  );
  await stopped;
  const claimedLate = parts.takeClaimed();
  await Promise.all([
    releasing,
    release(
      claimedLate.map((j) => j.id),
      'shut down before starting the job',
    ),
  ]);
  const releasedClaimed = [...claimedFirst, ...claimedLate].map((j) => j.id);
  let timer: NodeJS.Timeout | undefined;
  const idle = await Promise.race([
    parts.whenIdle().then(() => true),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  if (idle) return { releasedClaimed, releasedRunning: [] };
  const releasedRunning = parts.running();
  const error = errorRecordOf(
    ReleasedError,
    `Worker ${parts.workerId} shut down: the job ran past the ${graceMs / 1000}s grace period`,
  );
  for (const id of releasedRunning) parts.stopJob(id, error);
  await release(releasedRunning, `shut down while the job ran (grace period of ${graceMs / 1000}s over)`);
  return { releasedClaimed, releasedRunning };
}
