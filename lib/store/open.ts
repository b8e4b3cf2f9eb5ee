import { ConfigError } from '../errors.js';
import { DEFAULT_POOL_SIZE, isPostgresUrl, redact } from './postgres/url.js';
import { defaultDbFile } from './sqlite/open-file.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** `--db`: a SQLite file, ':memory:', or a postgres:// URL. */
  db?: string;
  /** The project root: the default SQLite file lives under it. */
  root: string;
  /** `--db-pool`: PostgreSQL connections of this process. */
  poolSize?: number;
  /** Whether to hear other servers' changes (PostgreSQL); a one-shot command needs not. @default true */
  listen?: boolean;
}

/**
 * Which database a server-side command uses. Flag > environment > default:
 * `--db`, then MILLRACE_DB, then DATABASE_URL (when it is a postgres:// URL), then the SQLite
 * file under the root.
 */
export function chooseDb(options: { db?: string; root: string }): string {
  const databaseUrl = process.env.DATABASE_URL;
  const db =
    options.db ||
    process.env.MILLRACE_DB ||
    (databaseUrl && isPostgresUrl(databaseUrl) ? databaseUrl : undefined) ||
    defaultDbFile(options.root);
  if (!isPostgresUrl(db) && /^[a-z][a-z0-9+.-]*:\/\//i.test(db)) {
    throw new ConfigError(
      `--db: expected a SQLite file, :memory: or a postgres:// URL, got ${JSON.stringify(redact(db))}`,
    );
  }
  return db;
}

/** `--db-pool` or MILLRACE_DB_POOL, else the default. */
export function choosePoolSize(flag: number | undefined): number {
  if (flag !== undefined) return flag;
  const env = process.env.MILLRACE_DB_POOL;
  if (env === undefined || env === '') return DEFAULT_POOL_SIZE;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1)
    throw new ConfigError(`MILLRACE_DB_POOL: expected a positive integer, got ${JSON.stringify(env)}`);
  return n;
}

export interface OpenedStore {
  store: Store;
  /** What it is, for a start-up line (a URL's password hidden). */
  label: string;
}

/** Opens the store a server-side command was pointed at; PostgreSQL's migrations run on open. */
export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  const db = chooseDb(options);
  if (isPostgresUrl(db)) {
    const { PgStore } = await loadPostgres();
    const store = await PgStore.open({ url: db, poolSize: choosePoolSize(options.poolSize), listen: options.listen });
    return { store, label: `PostgreSQL ${redact(db)}, pool ${store.poolSize}` };
  }
  const store = new SqliteStore({ file: db });
  return { store, label: store.file };
}

export interface MigrateReport {
  /** The store (a URL's password hidden). */
  store: string;
  /** The versions applied now, in order; empty when it was up to date. */
  applied: number[];
  /** The schema's version afterwards. */
  version: number;
}

/** Brings the schema of the store a command was pointed at up to date (`millrace migrate`). */
export async function migrateStore(options: { db?: string; root: string }): Promise<MigrateReport> {
  const db = chooseDb(options);
  if (isPostgresUrl(db)) {
    const { PgStore } = await loadPostgres();
    const { applied, version } = await PgStore.migrate({ url: db });
    return { store: redact(db), applied, version };
  }
  const { applied, version } = await SqliteStore.migrate({ file: db });
  return { store: db, applied, version };
}

/**
 * The PostgreSQL store, loaded only for a postgres:// URL: `pg` and its dependencies cost every
 * command on a SQLite file start-up time for nothing.
 */
function loadPostgres(): Promise<typeof import('./postgres/pg-store.js')> {
  return import('./postgres/pg-store.js');
}
