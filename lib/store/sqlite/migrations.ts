import type { Migration } from '../store.js';

/**
 * Numbered migrations, applied in order inside one transaction each (migrate.ts). Never edit
 * one that has shipped: add the next number.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, logs and attempts',
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        kind TEXT NOT NULL,
        script_path TEXT NOT NULL,
        script_hash TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        args TEXT NOT NULL,
        tag TEXT NOT NULL,
        status TEXT NOT NULL,
        parent_job TEXT,
        root_job TEXT NOT NULL,
        path TEXT NOT NULL,
        call_key TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        retry TEXT,
        timeout_s REAL,
        created_at INTEGER NOT NULL,
        scheduled_for INTEGER NOT NULL,
        started_at INTEGER,
        completed_at INTEGER,
        duration_ms INTEGER,
        worker TEXT,
        lease_until INTEGER,
        result TEXT,
        error TEXT,
        cancel_reason TEXT,
        canceled_by TEXT
      );
      -- Claims read queued jobs in (scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_claim ON jobs (status, scheduled_for);
      CREATE INDEX jobs_parent ON jobs (parent_job);
      CREATE INDEX jobs_root ON jobs (root_job);
      CREATE INDEX jobs_created ON jobs (workspace, created_at);
      CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'running';
      CREATE UNIQUE INDEX jobs_call_key ON jobs (parent_job, call_key) WHERE call_key IS NOT NULL;

      CREATE TABLE logs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        ts INTEGER NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL,
        src_job TEXT,
        src_name TEXT
      );
      CREATE INDEX logs_job ON logs (job_id, seq);

      CREATE TABLE attempts (
        job_id TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        started_at INTEGER,
        completed_at INTEGER,
        status TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (job_id, attempt)
      );
    `,
  },
  {
    version: 2,
    name: 'tokens and workers',
    sql: `
      CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        scope TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        tags TEXT NOT NULL,
        hostname TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'idempotency keys',
    sql: `
      ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
      CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (workspace, idempotency_key) WHERE idempotency_key IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'flow status',
    sql: `
      CREATE TABLE flow_status (
        job_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'token prefixes, last use and revocation',
    sql: `
      ALTER TABLE tokens ADD COLUMN prefix TEXT;
      ALTER TABLE tokens ADD COLUMN from_env INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE tokens ADD COLUMN last_used_at INTEGER;
      ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
      -- The admin token a server made from MILLRACE_TOKEN before this column: the next start
      -- with another MILLRACE_TOKEN revokes it too.
      UPDATE tokens SET from_env = 1 WHERE label = 'MILLRACE_TOKEN' AND scope = 'admin';
    `,
  },
  {
    version: 6,
    name: 'flow control: priority, concurrency and rate keys, result cache',
    sql: `
      ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
      ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN concurrency_window_ms INTEGER;
      ALTER TABLE jobs ADD COLUMN rate_key TEXT;
      ALTER TABLE jobs ADD COLUMN rate_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN rate_per_ms INTEGER;
      ALTER TABLE jobs ADD COLUMN cache_key TEXT;
      ALTER TABLE jobs ADD COLUMN cache_ttl_ms INTEGER;
      -- The job whose result a cached job reused (it never ran).
      ALTER TABLE jobs ADD COLUMN cached_from TEXT;
      -- Claims read queued jobs in (priority, scheduled_for, rowid) order straight off this index.
      CREATE INDEX jobs_claim_priority ON jobs (status, priority DESC, scheduled_for);
      -- A claim counts the running jobs of a key, and a window's recent starts, off this index.
      CREATE INDEX jobs_concurrency ON jobs (workspace, concurrency_key, status) WHERE concurrency_key IS NOT NULL;
      -- A cached call finds the latest successful run of an equal call.
      CREATE INDEX jobs_cache ON jobs (cache_key, completed_at) WHERE cache_key IS NOT NULL AND status = 'success';
      -- A rate key's earliest next start: a claim that starts a job of the key moves it on.
      CREATE TABLE rate_limits (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        next_start INTEGER NOT NULL,
        PRIMARY KEY (workspace, key)
      );
    `,
  },
];
