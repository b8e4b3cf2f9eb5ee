import type { ClaimRequest } from '../store/store.js';
import type { JobRecord, JobSpec, Json, NewLogLine, Outcome } from '../types.js';

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
  /** A job as recorded now (getJobStatus / getResult inside a job); undefined when there is none. */
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** Cancels a job and its unfinished descendants (cancelJob inside a job). */
  cancelJob(jobId: string, reason: string): Promise<void>;
  /** Records a flow job's flow status (what its runner knows of its modules). */
  setFlowStatus(jobId: string, status: Json): Promise<void>;
}
