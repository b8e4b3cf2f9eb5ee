import type Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/** The latest schema version this millrace knows. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Applies each migration the file lacks, in its own transaction, recorded in
 * `millrace_migrations`; returns the versions applied now, in order.
 */
export function migrateSqlite(db: Database.Database): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS millrace_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const applied = new Set(
    (db.prepare('SELECT version FROM millrace_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const now: number[] = [];
  for (const m of MIGRATIONS) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO millrace_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        Date.now(),
      );
    })();
    now.push(m.version);
  }
  return now;
}

/** The highest migration applied to the file; null when it has none (no millrace tables). */
export function schemaVersion(db: Database.Database): number | null {
  const hasTable = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'millrace_migrations'")
    .get();
  if (!hasTable) return null;
  return (db.prepare('SELECT max(version) AS v FROM millrace_migrations').get() as { v: number | null }).v;
}
