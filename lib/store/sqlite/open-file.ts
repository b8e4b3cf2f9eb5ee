import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../errors.js';
import { migrateSqlite, schemaVersion, SQLITE_SCHEMA_VERSION } from './migrate.js';

export interface OpenSqliteOptions {
  /**
   * Open the file read-only when this process may not write it (a command that only reads:
   * `jobs`, `logs`, `show`), rather than refusing it. @default false
   */
  readOnlyWhenNotWritable?: boolean;
}

/** The store file a project uses when none is named: MILLRACE_DB, else `<root>/.millrace/millrace.db`. */
export function defaultDbFile(root: string): string {
  return process.env.MILLRACE_DB || join(root, '.millrace', 'millrace.db');
}

/** SQLite's answers for a file that is not a database, or one whose pages are damaged. */
const DAMAGE_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/**
 * Opens (and migrates) the SQLite file of a store. A file this process cannot write is opened
 * read-only when asked, as long as its schema is complete; every failure is a ConfigError
 * naming the file and what to do.
 */
export function openSqliteFile(
  file: string,
  options: OpenSqliteOptions = {},
): { db: Database.Database; readOnly: boolean; /** Migrations applied by this open. */ applied: number[] } {
  const readOnly =
    file !== ':memory:' && options.readOnlyWhenNotWritable === true && existsSync(file) && !writable(file);
  try {
    if (readOnly) return { db: openReadOnly(file), readOnly, applied: [] };
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    // Pruned runs give their pages back to the file system (prune.ts); this can be chosen only
    // before the first table is made, so a new file gets it and an older one is converted once
    // by its first prune.
    if (schemaVersion(db) === null) db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    // Every write is a savepoint inside its tick's transaction (tick-commit.ts), and a savepoint
    // copies each page it changes to a sub-journal first. On disk, once a tick's sub-journal
    // outgrows SQLite's 64 KiB spill threshold, every page of the rest of the tick is a
    // `pwrite`: about 18 system calls per task in a fan-out. In memory they are copies. Only a
    // savepoint's rollback reads them; the WAL alone makes a commit durable.
    db.pragma('temp_store = MEMORY');
    db.pragma('busy_timeout = 5000');
    const applied = migrateSqlite(db);
    return { db, readOnly, applied };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw (
      explainSqliteError(file, err) ??
      new ConfigError(`Cannot open the SQLite store at ${file}: ${(err as Error).message}`, { cause: err })
    );
  }
}

/**
 * A ConfigError for a damaged or foreign file, which says what to do; undefined for any other
 * error. SQLite may find damage only when a query reaches the bad page, long after the open.
 */
export function explainSqliteError(file: string, err: unknown): ConfigError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !DAMAGE_CODES.has(code)) return undefined;
  const what = code === 'SQLITE_NOTADB' ? 'is not a SQLite database' : 'is damaged';
  return new ConfigError(
    `The SQLite store at ${file} ${what} (${(err as Error).message}). ` +
      `Move it aside (keep it: \`sqlite3 ${file} .recover\` may save its jobs) and run again to start a new store, ` +
      'or point --db at another file.',
    { cause: err },
  );
}

function writable(file: string): boolean {
  try {
    accessSync(file, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** SQLite's answers when a read-only connection cannot make the WAL index (-shm) in a directory it may not write. */
const NO_SHM_CODES = new Set(['SQLITE_READONLY_DIRECTORY', 'SQLITE_CANTOPEN', 'SQLITE_READONLY_CANTINIT']);

function openReadOnly(file: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!NO_SHM_CODES.has(code)) throw err;
    db = openSnapshot(file);
  }
  const version = schemaVersion(db);
  const latest = SQLITE_SCHEMA_VERSION;
  if (version !== latest) {
    db.close();
    throw new ConfigError(
      `The SQLite store at ${file} is read-only to this user and its schema is ${version === null ? 'missing' : `at version ${version}`}, not ${latest}: ` +
        'run `millrace migrate` once as a user who may write it, then read it again.',
    );
  }
  return db;
}

/**
 * A WAL-mode file is read through its WAL index (the -shm file), which a reader that may write
 * neither the file nor its directory cannot create when no writer has one open. Such a file
 * was closed cleanly (no -wal beside it), so all of it is in the file: it is read from a copy
 * in memory, marked as a rollback-journal database (header bytes 18 and 19), which needs no index.
 */
function openSnapshot(file: string): Database.Database {
  if (existsSync(`${file}-wal`)) {
    throw new ConfigError(
      `The SQLite store at ${file} is read-only to this user, and its write-ahead log ${file}-wal cannot be read without an index ` +
        `this user may not create: read it as a user who may write ${dirname(file)}, or while the process that writes it runs.`,
    );
  }
  const image = readFileSync(file);
  if (image.length >= 20) {
    image[18] = 1;
    image[19] = 1;
  }
  return new Database(image, { readonly: true });
}

/**
 * Makes every method of a store class turn SQLite's "damaged" errors into the ConfigError of
 * `explainSqliteError`, so a command reading a damaged file prints what to do rather than a
 * stack. (Damage surfaces in whichever query first reads a bad page: wrapping each method
 * once here beats a try in each.)
 */
export function explainDamageIn(proto: object, fileOf: (store: object) => string): void {
  for (const name of Object.getOwnPropertyNames(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (name === 'constructor' || typeof descriptor?.value !== 'function') continue;
    const method = descriptor.value as (...args: unknown[]) => unknown;
    const wrapped = function (this: object, ...args: unknown[]): unknown {
      const explain = (err: unknown): never => {
        throw explainSqliteError(fileOf(this), err) ?? err;
      };
      try {
        const out = method.apply(this, args);
        return out instanceof Promise ? out.catch(explain) : out;
      } catch (err) {
        return explain(err);
      }
    };
    Object.defineProperty(proto, name, { ...descriptor, value: wrapped });
  }
}
