/**
 * The schema both stores share, written once: each table as SQL over a Dialect, the few
 * column types in which SQLite and PostgreSQL differ. Each store's migrations.ts lists its own
 * numbered migrations (their numbers differ: SQLite's first schema came in two steps) and
 * builds them from these, adding what is its own (PostgreSQL's insertion-order column, each
 * one's claim index). A migration that has shipped never changes: what these functions return
 * for it stays the same SQL.
 */

import { KEYED_CLAIM_FUNCTION, KEYED_CLAIM_FUNCTION_RANKED_IN_ORDER } from './keyed-claim-function.js';
import type { Migration } from './store.js';

export interface Dialect {
  /** Epoch milliseconds, counts: 64-bit integers. */
  int64: string;
  float: string;
  /** An id other rows point to: PostgreSQL compares them byte by byte ("C"), so a prefix search is an index range. */
  id: string;
  /** A log line's sequence number: an auto-increment primary key. */
  serialKey: string;
  bool: string;
  true: string;
  false: string;
  /** The index claims read due jobs from, in (priority, due time, insertion) order. */
  priorityClaimIndex: string;
  /** What a keyed claim needs in the database: PostgreSQL's function (keyed-claim-function.ts); SQLite, nothing. */
  keyedClaim: string;
  /** Claim indexes that hold queued jobs only: SQLite's replace its first full ones; PostgreSQL's always were. */
  queuedOnlyClaimIndexes: string;
  /** The keyed claim's read by priority in index order whatever the statistics: PostgreSQL's function replaced; SQLite, nothing. */
  keyedClaimInOrder: string;
}

export const SQLITE: Dialect = {
  int64: 'INTEGER',
  float: 'REAL',
  id: 'TEXT',
  serialKey: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  bool: 'INTEGER',
  true: '1',
  false: '0',
  priorityClaimIndex: `-- Claims read queued jobs in (priority, scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_claim_priority ON jobs (status, priority DESC, scheduled_for);`,
  keyedClaim: '-- The one writer claims keyed jobs in its own transaction (sqlite/claim.ts): nothing to create.',
  // A full index on (status, ...) moves each job's entry twice more, at its claim and at its
  // end; these hold a job only while it is queued, so a claim deletes its entries and an end
  // touches neither. A query reads them only when its WHERE says `status = 'queued'`.
  queuedOnlyClaimIndexes: `DROP INDEX jobs_claim;
      DROP INDEX jobs_claim_priority;
      -- Claims read queued jobs in (priority, scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_queued_priority ON jobs (priority DESC, scheduled_for) WHERE status = 'queued';
      -- The aged claim reads queued jobs in (scheduled_for, rowid) order off this one.
      CREATE INDEX jobs_queued ON jobs (scheduled_for) WHERE status = 'queued';`,
  keyedClaimInOrder: '-- The one writer claims keyed jobs in its own transaction (sqlite/claim.ts): nothing to change.',
};

export const POSTGRES: Dialect = {
  int64: 'BIGINT',
  float: 'DOUBLE PRECISION',
  id: 'TEXT COLLATE "C"',
  serialKey: 'BIGSERIAL PRIMARY KEY',
  bool: 'BOOLEAN',
  true: 'true',
  false: 'false',
  priorityClaimIndex: `-- Claims read the due queued jobs in (priority, scheduled_for, seq) order straight off this index.
      CREATE INDEX jobs_queue_priority ON jobs (priority DESC, scheduled_for, seq) WHERE status = 'queued';`,
  keyedClaim: KEYED_CLAIM_FUNCTION,
  queuedOnlyClaimIndexes:
    "-- PostgreSQL's claim indexes (jobs_queue, jobs_queue_priority) hold queued jobs only: nothing to change.",
  keyedClaimInOrder: KEYED_CLAIM_FUNCTION_RANKED_IN_ORDER,
};

/** The jobs table's columns, after any a store puts first. */
export const jobColumns = (d: Dialect) => `
        id ${d.id} PRIMARY KEY,
        workspace TEXT NOT NULL,
        kind TEXT NOT NULL,
        script_path TEXT NOT NULL,
        script_hash TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        args TEXT NOT NULL,
        tag TEXT NOT NULL,
        status TEXT NOT NULL,
        parent_job ${d.id},
        root_job ${d.id} NOT NULL,
        path ${d.id} NOT NULL,
        call_key TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        retry TEXT,
        timeout_s ${d.float},
        created_at ${d.int64} NOT NULL,
        scheduled_for ${d.int64} NOT NULL,
        started_at ${d.int64},
        completed_at ${d.int64},
        duration_ms ${d.int64},
        worker TEXT,
        lease_until ${d.int64},
        result TEXT,
        error TEXT,
        cancel_reason TEXT,
        canceled_by TEXT`;

/** The log lines and the attempts of jobs. */
export const logsAndAttempts = (d: Dialect) => `
      CREATE TABLE logs (
        seq ${d.serialKey},
        job_id ${d.id} NOT NULL,
        ts ${d.int64} NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL,
        src_job TEXT,
        src_name TEXT
      );
      CREATE INDEX logs_job ON logs (job_id, seq);

      CREATE TABLE attempts (
        job_id ${d.id} NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        claimed_at ${d.int64} NOT NULL,
        started_at ${d.int64},
        completed_at ${d.int64},
        status TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (job_id, attempt)
      );`;

export const tokensAndWorkers = (d: Dialect) => `
      CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        scope TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at ${d.int64} NOT NULL
      );
      CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        tags TEXT NOT NULL,
        hostname TEXT NOT NULL,
        started_at ${d.int64} NOT NULL,
        last_seen ${d.int64} NOT NULL
      );`;

export const idempotencyKeys = () => `
      ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
      CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (workspace, idempotency_key) WHERE idempotency_key IS NOT NULL;`;

export const flowStatus = (d: Dialect) => `
      CREATE TABLE flow_status (
        job_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        updated_at ${d.int64} NOT NULL
      );`;

export const tokenPrefixes = (d: Dialect) => `
      ALTER TABLE tokens ADD COLUMN prefix TEXT;
      ALTER TABLE tokens ADD COLUMN from_env ${d.bool} NOT NULL DEFAULT ${d.false};
      ALTER TABLE tokens ADD COLUMN last_used_at ${d.int64};
      ALTER TABLE tokens ADD COLUMN revoked_at ${d.int64};
      -- The admin token a server made from MILLRACE_TOKEN before this column: the next start
      -- with another MILLRACE_TOKEN revokes it too.
      UPDATE tokens SET from_env = ${d.true} WHERE label = 'MILLRACE_TOKEN' AND scope = 'admin';`;

/** Flow modules and durable steps were both called "step"; a flow module's job was of kind flowstep. */
export const flowModuleKind = () => `
      UPDATE jobs SET kind = 'flowmodule' WHERE kind = 'flowstep';`;

/** Events sent to jobs (kept until a wait of their name takes them), and the key that signs resume URLs. */
export const eventsAndSecrets = (d: Dialect) => `
      CREATE TABLE events (
        seq ${d.serialKey},
        job_id ${d.id} NOT NULL,
        name TEXT NOT NULL,
        payload TEXT NOT NULL,
        sent_at ${d.int64} NOT NULL,
        -- The wait child that took it; NULL while it is kept for the next wait of its name.
        wait_job ${d.id}
      );
      CREATE INDEX events_by_job ON events (job_id, name, seq);
      CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        created_at ${d.int64} NOT NULL
      );`;

/** Schedules: a cron in its time zone, what it runs, and the last slot fired (engine/scheduler.ts). */
export const schedules = (d: Dialect) => `
      CREATE TABLE schedules (
        id ${d.id} PRIMARY KEY,
        workspace TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        cron TEXT NOT NULL,
        timezone TEXT NOT NULL,
        args TEXT NOT NULL,
        paused ${d.bool} NOT NULL DEFAULT ${d.false},
        created_at ${d.int64} NOT NULL,
        active_since ${d.int64} NOT NULL,
        last_slot ${d.int64},
        last_job ${d.id}
      );
      CREATE UNIQUE INDEX schedules_name ON schedules (workspace, name);`;

/** Job progress (setProgress); finished roots by end time (prune); the caller's trace of a run (a traceparent). */
export const progressAndTraces = (d: Dialect) => `
      CREATE TABLE job_progress (
        job_id ${d.id} PRIMARY KEY,
        percent INTEGER NOT NULL,
        message TEXT,
        updated_at ${d.int64} NOT NULL
      );
      -- Prune looks for root jobs finished before a time, oldest first.
      CREATE INDEX jobs_root_completed ON jobs (completed_at) WHERE parent_job IS NULL;
      -- The caller's trace of a run submitted with a traceparent (job_id: the root job).
      CREATE TABLE run_traces (
        job_id ${d.id} PRIMARY KEY,
        trace_id TEXT NOT NULL,
        parent_span_id TEXT NOT NULL
      );`;

/** Flow control (docs/flow-control.md): the columns of a job's limits and cache, and each store's claim index. */
export const flowControl = (d: Dialect) => `
      ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
      ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN concurrency_window_ms ${d.int64};
      ALTER TABLE jobs ADD COLUMN rate_key TEXT;
      ALTER TABLE jobs ADD COLUMN rate_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN rate_per_ms ${d.int64};
      ALTER TABLE jobs ADD COLUMN cache_key TEXT;
      ALTER TABLE jobs ADD COLUMN cache_ttl_ms ${d.int64};
      -- The job whose result a cached job reused (it never ran).
      ALTER TABLE jobs ADD COLUMN cached_from TEXT;
      ${d.priorityClaimIndex}
      -- A claim counts the running jobs of a key, and a window's recent starts, off this index.
      CREATE INDEX jobs_concurrency ON jobs (workspace, concurrency_key, status) WHERE concurrency_key IS NOT NULL;
      -- A cached call finds the latest successful run of an equal call.
      CREATE INDEX jobs_cache ON jobs (cache_key, completed_at) WHERE cache_key IS NOT NULL AND status = 'success';
      -- A rate key's earliest next start: a claim that starts a job of the key moves it on.
      CREATE TABLE rate_limits (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        next_start ${d.int64} NOT NULL,
        PRIMARY KEY (workspace, key)
      );`;

/** A migration both stores apply alike, written once. */
interface SharedMigration {
  name: string;
  sql(d: Dialect): string;
}

/**
 * The migrations both stores share, in order, after each one's first schema: SQLite numbers
 * them from 3, PostgreSQL from 2 (its first migration made what SQLite's first two did).
 */
const SHARED_MIGRATIONS: readonly SharedMigration[] = [
  { name: 'idempotency keys', sql: idempotencyKeys },
  { name: 'flow status', sql: flowStatus },
  { name: 'token prefixes, last use and revocation', sql: tokenPrefixes },
  { name: 'a flow module job is of kind flowmodule', sql: flowModuleKind },
  { name: 'events sent to jobs, and the key that signs resume URLs', sql: eventsAndSecrets },
  { name: 'schedules', sql: schedules },
  { name: 'job progress; finished runs by end time (prune); run traces', sql: progressAndTraces },
  { name: 'flow control: priority, concurrency and rate keys, result cache', sql: flowControl },
  { name: 'the keyed claim in one call (PostgreSQL: a function)', sql: (d) => d.keyedClaim },
  { name: 'claim indexes hold queued jobs only', sql: (d) => d.queuedOnlyClaimIndexes },
  { name: 'the keyed claim reads by priority in index order', sql: (d) => d.keyedClaimInOrder },
];

/** The shared migrations in `d`'s dialect, numbered from `first`. */
export function sharedMigrations(d: Dialect, first: number): Migration[] {
  return SHARED_MIGRATIONS.map((m, i) => ({ version: first + i, name: m.name, sql: m.sql(d) }));
}
