import pg from 'pg';
import { ConfigError } from '../../errors.js';
import type { MigrationReport } from '../store.js';
import { migratePg, PG_SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { checkPostgresUrl, checkSchemaName, connectionConfig, DEFAULT_POOL_SIZE, redact } from './url.js';

// The schema at open and at `millrace migrate`: migrated, or checked to be this millrace's.

/** Brings the schema to this millrace's version at open: migrates it, or (with `migrate: false`) checks it. */
export async function prepareSchema(pool: pg.Pool, schema: string, migrate: boolean): Promise<void> {
  const client = await pool.connect();
  try {
    if (migrate) {
      await migratePg(client, schema);
    } else {
      const version = await schemaVersion(client, schema);
      if (version !== PG_SCHEMA_VERSION) {
        throw new ConfigError(
          `The database schema "${schema}" is at version ${version}; this millrace needs ${PG_SCHEMA_VERSION}: run \`millrace migrate --db URL\``,
        );
      }
    }
  } finally {
    client.release();
  }
}

/** Applies pending migrations to the schema over a connection of its own, then closes it: `millrace migrate`. */
export async function migrateSchema(options: { url: string; schema?: string }): Promise<MigrationReport> {
  const schema = checkSchemaName(options.schema ?? 'public');
  checkPostgresUrl(options.url);
  const client = new pg.Client(connectionConfig(options.url, schema));
  try {
    await client.connect();
  } catch (err) {
    throw new ConfigError(`Cannot connect to PostgreSQL at ${redact(options.url)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  try {
    return await migratePg(client, schema);
  } finally {
    await client.end();
  }
}

/** The pool size asked for, checked: a positive integer. */
export function checkPoolSize(poolSize: number = DEFAULT_POOL_SIZE): number {
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new ConfigError(`The pool size must be a positive integer, got ${poolSize}`);
  return poolSize;
}

/** Why the store could not open: a ConfigError as it was, anything else (the database's) with the redacted URL. */
export function openError(url: string, err: unknown): ConfigError {
  if (err instanceof ConfigError) return err;
  return new ConfigError(`Cannot open the PostgreSQL store at ${redact(url)}: ${(err as Error).message}`, {
    cause: err,
  });
}
