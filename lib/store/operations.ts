// What the Store offers for running millrace for months (docs/operations.md): counts for the
// metrics, the schema's state for /readyz, progress reports, and pruning old runs. Types only.

/** How many jobs of a tag are in a live status now (the queued and running gauges of /metrics). */
export interface LiveCount {
  tag: string;
  status: 'queued' | 'running';
  count: number;
}

/** Where a store's schema stands (GET /readyz): ready when `version` is `latest`. */
export interface SchemaState {
  /** The highest migration applied to the database. */
  version: number;
  /** The highest migration this millrace knows. */
  latest: number;
}

/** Which runs `pruneRuns` deletes: whole runs whose every job has finished, the root before `finishedBefore`. */
export interface PruneRequest {
  /** Epoch ms: runs whose root finished at or after it are kept. */
  finishedBefore: number;
  /**
   * Runs deleted per transaction. Small, so that a claim waits for one batch at most (SQLite has
   * one writer) and PostgreSQL's autovacuum keeps up with the dead rows. @default 50
   */
  batchSize?: number;
  /** Count what would be deleted; delete nothing. @default false */
  dryRun?: boolean;
}

/** Rows deleted (or, for a dry run, that would be), per table. */
export interface PrunedRows {
  jobs: number;
  logs: number;
  attempts: number;
  flowStatus: number;
  progress: number;
  /** Runs' recorded traces (a traceparent at submission). */
  traces: number;
  /** Events sent to the run's jobs (taken by a wait, or kept for one). */
  events: number;
}

/** What `pruneRuns` did. */
export interface PruneReport {
  dryRun: boolean;
  /** Runs (root jobs with all their descendants) deleted. */
  runs: number;
  rows: PrunedRows;
  /** Batches (transactions) it took. */
  batches: number;
}

export const DEFAULT_PRUNE_BATCH = 50;

export function emptyPrunedRows(): PrunedRows {
  return { jobs: 0, logs: 0, attempts: 0, flowStatus: 0, progress: 0, traces: 0, events: 0 };
}

export function addPrunedRows(into: PrunedRows, more: PrunedRows): void {
  into.jobs += more.jobs;
  into.logs += more.logs;
  into.attempts += more.attempts;
  into.flowStatus += more.flowStatus;
  into.progress += more.progress;
  into.traces += more.traces;
  into.events += more.events;
}
