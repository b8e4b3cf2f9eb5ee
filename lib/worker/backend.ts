import type { ClaimAtOnce, ClaimRequest } from '../store/store.js';
import type {
  RunTrace,
  ErrorRecord,
  EventSent,
  JobProgress,
  JobRecord,
  JobSpec,
  Json,
  NewLogLine,
  Outcome,
  ResumeUrls,
} from '../types.js';

/**
 * What a worker needs from the place its jobs come from: the local coordinator (embedded,
 * `millrace dev`) or a server over HTTP (`millrace worker --server`). Domain verbs only.
 */
export interface WorkerBackend {
  /** Claims up to `limit` jobs; waits until at least one is available or `signal` aborts. */
  claim(request: ClaimRequest, signal: AbortSignal): Promise<JobRecord[]>;
  started(jobId: string, at: number): Promise<unknown>;
  appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<void>;
  /**
   * Whether its reports (starts, log lines, ends, releases, flow status, progress) are applied
   * in the order they are made, one request at a time: then a job's end need not wait for
   * the answer to its last lines (log-buffer.ts), only follow them.
   */
  readonly reportsInOrder?: boolean;
  /** Persists a child job (or finds the one already recorded for its call key) before resolving with its id. */
  submitChild(spec: JobSpec): Promise<string>;
  /**
   * Persists a job and, with `claim`, takes it for this worker as it is recorded when it may be
   * (Store.enqueue): a child goes to the slot its awaiting parent frees, with no claim between.
   * Resolves with the job as recorded (the local coordinator), or over HTTP with its id alone
   * unless this worker took it.
   */
  submit?(spec: JobSpec, claim?: ClaimAtOnce): Promise<JobRecord | { id: string }>;
  /** Resolves once the job has finished. */
  waitFinished(jobId: string, signal?: AbortSignal): Promise<JobRecord>;
  /** Records how an attempt ended; with `startedAt`, its start too (held back: held-starts.ts). */
  finish(jobId: string, outcome: Outcome, at: number, startedAt?: number): Promise<unknown>;
  /** Renews leases; returns the ids that are no longer this worker's to run. */
  renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]>;
  /** Puts a running job back in the queue through no fault of its own (its thread was replaced). */
  release(jobId: string, error: ErrorRecord, at: number): Promise<void>;
  /** The child recorded at a call key of a parent, if any (a step's recorded result). */
  findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined>;
  /** Records a step that ran inline; the first record at a key stands and is returned. */
  recordStep(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<JobRecord>;
  /**
   * Calls `listener` with each job canceled from now on, so a worker can stop their code at
   * once. Backends without it leave the news to the next lease renewal.
   */
  onCanceled?(listener: (jobId: string) => void): () => void;
  /** A job as recorded now (getJobStatus / getResult inside a job); undefined when there is none. */
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** Cancels a job and its unfinished descendants (cancelJob inside a job). */
  cancelJob(jobId: string, reason: string): Promise<void>;
  /** Records a flow job's flow status (what its runner knows of its modules). */
  setFlowStatus(jobId: string, status: Json): Promise<void>;
  /** Sends an event to a job (sendEvent inside a job). */
  sendEvent(jobId: string, name: string, payload: Json): Promise<EventSent>;
  /** The signed URLs of approval `resumeId` of a job (getResumeUrls). */
  resumeUrls(jobId: string, resumeId: string): Promise<ResumeUrls>;
  /** Records how far along a job is (setProgress inside it). */
  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>): Promise<void>;
  /** A job's last progress report (getProgress inside a job); undefined when it made none. */
  getProgress(jobId: string): Promise<JobProgress | undefined>;
  /** The caller's trace a run joined (a traceparent at submission), with tracing on. */
  getRunTrace?(rootJob: string): Promise<RunTrace | undefined>;
}
