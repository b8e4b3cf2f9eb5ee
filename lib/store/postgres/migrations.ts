import type pg from 'pg';
import { ConfigError } from '../../errors.js';
import { jobColumns, logsAndAttempts, POSTGRES, sharedMigrations, tokensAndWorkers } from '../schema.js';
import type { Migration, MigrationReport } from '../store.js';

/**
 * PostgreSQL's numbered migrations, applied in order, one transaction each, by whichever
 * server starts first (the others wait on an advisory lock). Never edit one that has shipped:
 * add the next number. Times are epoch milliseconds (BIGINT); JSON is kept as the text the
 * engine wrote, so both stores give back exactly what they were given. The tables both stores
 * share are written once, in ../schema.ts.
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'jobs, logs, attempts, tokens and workers',
    sql: `
      CREATE TABLE jobs (
        -- Insertion order: claims take the oldest due job first, lists show the newest first.
        seq BIGSERIAL NOT NULL UNIQUE,${jobColumns(POSTGRES)}
      );
      -- Claims read the due queued jobs in order straight off this (small) index.
      CREATE INDEX jobs_queue ON jobs (scheduled_for, seq) WHERE status = 'queued';
      CREATE INDEX jobs_parent ON jobs (parent_job);
      CREATE INDEX jobs_root ON jobs (root_job, path);
      CREATE INDEX jobs_created ON jobs (workspace, created_at);
      CREATE INDEX jobs_lease ON jobs (lease_until) WHERE status = 'running';
      CREATE INDEX jobs_worker ON jobs (worker) WHERE status = 'running';
      CREATE UNIQUE INDEX jobs_call_key ON jobs (parent_job, call_key) WHERE call_key IS NOT NULL;
      ${logsAndAttempts(POSTGRES)}
      ${tokensAndWorkers(POSTGRES)}
    `,
  },
  ...sharedMigrations(POSTGRES, 2),
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
        await client.query('INSERT INTO millrace_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new ConfigError(
          `Migration ${m.version} (${m.name}) failed on schema "${schema}": ${(err as Error).message}`,
          { cause: err },
        );
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
  const exists = await client.query<{ t: string | null }>('SELECT to_regclass($1) AS t', [
    `${quoteIdent(schema)}.millrace_migrations`,
  ]);
  if (!exists.rows[0].t) return 0;
  const { rows } = await client.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM ${quoteIdent(schema)}.millrace_migrations`,
  );
  return rows[0].v ?? 0;
}

/** Schema names are checked (`checkSchemaName`) before they get here; quoting keeps case. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
