import type pg from 'pg';
import { ConfigError } from '../../errors.js';
import type { Migration, MigrationReport } from '../store.js';

/**
 * PostgreSQL's numbered migrations, applied in order, one transaction each, by whichever
 * server starts first (the others wait on an advisory lock). Never edit one that has shipped:
 * add the next number. Times are epoch milliseconds (BIGINT); JSON is kept as the text the
 * engine wrote, so both stores give back exactly what they were given.
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, logs, attempts, tokens and workers',
    sql: `
      CREATE TABLE jobs (
        -- Insertion order: claims take the oldest due job first, lists show the newest first.
        seq BIGSERIAL NOT NULL UNIQUE,
        -- "C": ids compare byte by byte, so a prefix search is an index range.
        id TEXT COLLATE "C" PRIMARY KEY,
        workspace TEXT NOT NULL,
        kind TEXT NOT NULL,
        script_path TEXT NOT NULL,
        script_hash TEXT NOT NULL,
        entrypoint TEXT NOT NULL,
        args TEXT NOT NULL,
        tag TEXT NOT NULL,
        status TEXT NOT NULL,
        parent_job TEXT COLLATE "C",
        root_job TEXT COLLATE "C" NOT NULL,
        path TEXT COLLATE "C" NOT NULL,
        call_key TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 1,
        retry TEXT,
        timeout_s DOUBLE PRECISION,
        created_at BIGINT NOT NULL,
        scheduled_for BIGINT NOT NULL,
        started_at BIGINT,
        completed_at BIGINT,
        duration_ms BIGINT,
        worker TEXT,
        lease_until BIGINT,
        result TEXT,
        error TEXT,
        cancel_reason TEXT,
        canceled_by TEXT
      );
      -- Claims read the due queued jobs in order straight off this (small) index.
      CREATE INDEX jobs_queue ON jobs (scheduled_for, seq) WHERE status = 'queued';
      CREATE INDEX jobs_parent ON jobs (parent_job);
      CREATE INDEX jobs_root ON jobs (root_job, path);
      CREATE INDEX jobs_created ON jobs (workspace, created_at);
      CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'running';
      CREATE INDEX jobs_worker ON jobs (worker) WHERE status = 'running';
      CREATE UNIQUE INDEX jobs_call_key ON jobs (parent_job, call_key) WHERE call_key IS NOT NULL;

      CREATE TABLE logs (
        seq BIGSERIAL PRIMARY KEY,
        job_id TEXT COLLATE "C" NOT NULL,
        ts BIGINT NOT NULL,
        stream TEXT NOT NULL,
        line TEXT NOT NULL,
        src_job TEXT,
        src_name TEXT
      );
      CREATE INDEX logs_job ON logs (job_id, seq);

      CREATE TABLE attempts (
        job_id TEXT COLLATE "C" NOT NULL,
        attempt INTEGER NOT NULL,
        worker TEXT NOT NULL,
        claimed_at BIGINT NOT NULL,
        started_at BIGINT,
        completed_at BIGINT,
        status TEXT NOT NULL,
        error TEXT,
        PRIMARY KEY (job_id, attempt)
      );

      CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        scope TEXT NOT NULL,
        label TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );

      CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        workspace TEXT NOT NULL,
        tags TEXT NOT NULL,
        hostname TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        last_seen BIGINT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'idempotency keys',
    sql: `
      ALTER TABLE jobs ADD COLUMN idempotency_key TEXT;
      CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (workspace, idempotency_key) WHERE idempotency_key IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'flow status',
    sql: `
      CREATE TABLE flow_status (
        job_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        updated_at BIGINT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'token prefixes, last use and revocation',
    sql: `
      ALTER TABLE tokens ADD COLUMN prefix TEXT;
      ALTER TABLE tokens ADD COLUMN from_env BOOLEAN NOT NULL DEFAULT false;
      ALTER TABLE tokens ADD COLUMN last_used_at BIGINT;
      ALTER TABLE tokens ADD COLUMN revoked_at BIGINT;
      -- The admin token a server made from MILLRACE_TOKEN before this column: the next start
      -- with another MILLRACE_TOKEN revokes it too.
      UPDATE tokens SET from_env = true WHERE label = 'MILLRACE_TOKEN' AND scope = 'admin';
    `,
  },
  {
    version: 5,
    name: 'flow control: priority, concurrency and rate keys, result cache',
    sql: `
      ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
      ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN concurrency_window_ms BIGINT;
      ALTER TABLE jobs ADD COLUMN rate_key TEXT;
      ALTER TABLE jobs ADD COLUMN rate_limit INTEGER;
      ALTER TABLE jobs ADD COLUMN rate_per_ms BIGINT;
      ALTER TABLE jobs ADD COLUMN cache_key TEXT;
      ALTER TABLE jobs ADD COLUMN cache_ttl_ms BIGINT;
      -- The job whose result a cached job reused (it never ran).
      ALTER TABLE jobs ADD COLUMN cached_from TEXT;
      -- Claims read the due queued jobs in (priority, scheduled_for, seq) order straight off this index.
      CREATE INDEX jobs_queue_priority ON jobs (priority DESC, scheduled_for, seq) WHERE status = 'queued';
      -- A claim counts the running jobs of a key, and a window's recent starts, off this index.
      CREATE INDEX jobs_concurrency ON jobs (workspace, concurrency_key, status) WHERE concurrency_key IS NOT NULL;
      -- A cached call finds the latest successful run of an equal call.
      CREATE INDEX jobs_cache ON jobs (cache_key, completed_at) WHERE cache_key IS NOT NULL AND status = 'success';
      -- A rate key's earliest next start: a claim that starts a job of the key moves it on.
      CREATE TABLE rate_limits (
        workspace TEXT NOT NULL,
        key TEXT NOT NULL,
        next_start BIGINT NOT NULL,
        PRIMARY KEY (workspace, key)
      );
    `,
  },
];

/** The latest schema version this millrace knows. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;

/**
 * Brings `schema` up to date: creates it when missing, then applies each migration it lacks
 * in its own transaction. Concurrent callers (servers starting together) take turns on an
 * advisory lock, so each migration runs once.
 */
export async function migratePg(client: pg.ClientBase, schema: string): Promise<MigrationReport> {
  const lockKey = `millrace.migrate.${schema}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.millrace_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const current = await schemaVersion(client, schema);
    if (current > PG_SCHEMA_VERSION) {
      throw new ConfigError(
        `The database schema "${schema}" is at version ${current}, newer than this millrace knows (${PG_SCHEMA_VERSION}): upgrade millrace`,
      );
    }
    const applied: number[] = [];
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
        await client.query(m.sql);
        await client.query('INSERT INTO millrace_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new ConfigError(`Migration ${m.version} (${m.name}) failed on schema "${schema}": ${(err as Error).message}`, { cause: err });
      }
      applied.push(m.version);
    }
    return { applied, version: await schemaVersion(client, schema) };
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]);
  }
}

/** The highest migration applied to `schema`; 0 when none (or no millrace tables). */
export async function schemaVersion(client: pg.ClientBase, schema: string): Promise<number> {
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [`${quoteIdent(schema)}.millrace_migrations`]);
  if (!exists.rows[0].t) return 0;
  const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${quoteIdent(schema)}.millrace_migrations`);
  return rows[0].v ?? 0;
}

/** Schema names are checked (`checkSchemaName`) before they get here; quoting keeps case. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
