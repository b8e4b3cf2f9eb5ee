import { WaitTimeoutError } from '../errors-operations.js';
import { errorRecordOf } from '../error-record.js';
import type { ErrorRecord, JobRecord, Outcome } from '../types.js';
import { approvalKeyOf } from '../wait-names.js';
import type { WorkerBackend } from './backend.js';

export interface NoCodeJobDeps {
  backend: WorkerBackend;
  /** A start or end time as recorded (the engine's clock when one was given). */
  stamp: (at: number) => number;
  finish: (jobId: string, outcome: Outcome, at?: number) => Promise<void>;
  warn: (what: string, err: unknown) => void;
}

/**
 * Ends a claimed sleep or wait, the child jobs that run no code; false for any other job.
 * A durable sleep is over when it is claimed (it was due only now); a wait is claimed only
 * once it is due: its timeout ran out before its event came.
 */
export function endNoCodeJob(job: JobRecord, deps: NoCodeJobDeps): boolean {
  const { backend, warn } = deps;
  if (job.kind === 'sleep') {
    const at = deps.stamp(Date.now());
    void backend.started(job.id, at).catch((err) => warn(`recording the start of ${job.id}`, err));
    void deps.finish(job.id, { status: 'success', result: null }, at);
    return true;
  }
  if (job.kind === 'wait') {
    void backend.started(job.id, Date.now()).catch((err) => warn(`recording the start of ${job.id}`, err));
    void deps.finish(job.id, { status: 'failure', error: waitTimedOut(job) });
    return true;
  }
  return false;
}

/** The error of a wait whose timeout ran out: the job's `await` throws it, and may catch it. */
function waitTimedOut(wait: JobRecord): ErrorRecord {
  const seconds = Math.round(wait.scheduledFor - wait.createdAt) / 1000;
  const key = approvalKeyOf(wait.entrypoint);
  const what = key === undefined ? `The event "${wait.entrypoint}"` : `The approval "${key}"`;
  return errorRecordOf(
    WaitTimeoutError,
    `${what} did not come to job ${wait.parentJob} within its timeout of ${seconds}s`,
  );
}
