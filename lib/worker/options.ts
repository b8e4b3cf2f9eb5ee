import type { Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import type { WorkerBackend } from './backend.js';

/** See WorkerOptions.maxVersions; measured in docs/performance.md. */
export const DEFAULT_MAX_VERSIONS = 50;

/** WorkerOptions.maxVersions, checked; ConfigError for anything but a positive integer. */
export function maxVersionsOf(options: Pick<WorkerOptions, 'maxVersions'>): number {
  const maxVersions = options.maxVersions ?? DEFAULT_MAX_VERSIONS;
  if (!Number.isInteger(maxVersions) || maxVersions < 1) {
    throw new ConfigError(
      `maxVersions: expected a positive integer (versions an executor thread may hold), got ${String(maxVersions)}`,
    );
  }
  return maxVersions;
}

export interface WorkerOptions {
  backend: WorkerBackend;
  /** The project root scripts are resolved under. */
  root: string;
  /** The tags served, or 'all'. */
  tags: readonly string[] | 'all';
  /** Jobs that may be working at once; a job awaiting children does not count. @default CPU count */
  concurrency?: number;
  /** Executor threads. @default CPU count */
  threads?: number;
  /**
   * Versions of the project's modules an executor thread may hold (each edit of a script,
   * or of a module it imports, that a job runs is one) before the thread is replaced: it
   * gets no new jobs, finishes those it holds, and ends. Node cannot unload an ES module.
   * @default 50
   */
  maxVersions?: number;
  /** Only jobs of these runs (a live set: the embedded engine adds each run it starts). */
  rootJobs?: Set<string>;
  workspace?: string;
  /** @default `${hostname}-${random}` */
  id?: string;
  /** @default 30000 */
  leaseMs?: number;
  /** How often leases are renewed (and the worker learns of canceled jobs, over HTTP). @default min(2000, leaseMs / 3) */
  heartbeatMs?: number;
  /**
   * How long a stopped job's code (canceled, timed out) may take to unwind after its signal
   * aborts before its executor thread is replaced. @default 500
   */
  stopGraceMs?: number;
  /**
   * How long a job's start is held back before it is written, so that a job that ends sooner
   * has its start written with its end (held-starts.ts); and how long a child taken at once
   * runs before anything of it is written, so that one that succeeds sooner is written once,
   * finished (unrecorded-children.ts). 0 writes each start, and each child, at once.
   * @default 20
   */
  startHoldMs?: number;
  /**
   * Jobs claimed ahead of free slots, so a slot that frees starts the next job without a
   * round trip to the store or the server. Jobs claimed ahead wait on this worker even when
   * a peer is idle; 0 gives every queued job to whichever worker frees a slot first.
   * @default 4 × concurrency
   */
  prefetch?: number;
  /**
   * The engine's clock, for the start and end times recorded (a test's clock: see
   * millrace/testing). Code on executor threads keeps real time. @default the threads' real time
   */
  clock?: Clock;
}
