import type { ClaimRequest } from '../store/store.js';
import type { JobRecord, JobSpec, NewLogLine, Outcome } from '../types.js';

/**
 * What a worker needs from the place its jobs come from: the local coordinator (embedded,
 * `millrace dev`) or a server over HTTP (`millrace worker --server`). Domain verbs only.
 */
export interface WorkerBackend {
  /** Claims up to `limit` jobs; waits until at least one is available or `signal` aborts. */
  claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]>;
  started(jobId: string, at: number): Promise<void>;
  appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void>;
  /** Persists a child job (or finds the one already recorded for its call key) before resolving with its id. */
  submitChild(spec: JobSpec): Promise<string>;
  /** Resolves once the job has finished. */
  waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord>;
  /** Records how an attempt ended. */
  finish(jobId: string, outcome: Outcome, at: number): Promise<void>;
  /** Renews leases; returns the ids that are no longer this worker's to run. */
  renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]>;
}
