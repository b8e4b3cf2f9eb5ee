import type pg from 'pg';
import { ConfigError } from '../../errors.js';

/**
 * A PostgreSQL store's URL and schema, and the connections made from them. Nothing here loads
 * `pg` (its types only), so the CLI can tell a postgres:// URL from a SQLite file without it.
 */

/** Connections in a server's pool when `--db-pool` does not say. */
export const DEFAULT_POOL_SIZE = 10;

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Refuses anything but a postgres:// URL, before a connection is tried. */
export function checkPostgresUrl(url: string): string {
  if (!isPostgresUrl(url))
    throw new ConfigError(`Expected a postgres:// or postgresql:// URL, got ${JSON.stringify(redact(url))}`);
  return url;
}

/** Schema names go into SQL (search_path, LISTEN channels), so they are held to a safe shape. */
export function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema)) {
    throw new ConfigError(
      `A schema name is 1-40 lowercase letters, digits or _, not starting with a digit; got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
}

export function connectionConfig(url: string, schema: string): pg.ClientConfig {
  // Every connection works in the store's schema: the SQL names tables unqualified. Plans are
  // PostgreSQL's default (plan_cache_mode = auto): an unnamed statement (the claims, whose
  // generic plan would read the whole queue) is parsed and planned for each execution's
  // values; a named one (a job's insert, start, end and read by id: hot, their plans the same
  // for any values) is parsed once per connection and, after five executions, keeps its
  // generic plan. Planning the insert's CTEs was 40 % of PostgreSQL's CPU per task.
  return {
    connectionString: url,
    options: `-c search_path=${schema}`,
    application_name: 'millrace',
  };
}
