import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { chooseDb } from '../../store/open.js';
import { isPostgresUrl, PgStore, redact } from '../../store/postgres/pg-store.js';
import { MIGRATIONS } from '../../store/sqlite/migrations.js';
import { SqliteStore } from '../../store/sqlite/sqlite-store.js';
import { projectRoot, withRootAndStore } from '../options.js';

interface MigrateOptions {
  root?: string;
  db?: string;
  json?: boolean;
}

export function migrateCommand(program: Command): void {
  withRootAndStore(
    program
      .command('migrate')
      .summary("bring the store's schema up to date")
      .description(
        "Apply the store's pending migrations, each in its own transaction, and exit. Servers do this at\n" +
          'start too; run it on its own to upgrade a PostgreSQL database before rolling out new servers.',
      )
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: MigrateOptions) => {
    const db = chooseDb({ db: options.db, root: projectRoot(options) });
    let report: { store: string; applied: number[]; version: number };
    if (isPostgresUrl(db)) {
      const { applied, version } = await PgStore.migrate({ url: db });
      report = { store: redact(db), applied, version };
    } else {
      const before = sqliteVersion(db);
      // Opening a SQLite store applies what it lacks.
      const store = new SqliteStore({ file: db });
      await store.close();
      report = { store: store.file, applied: MIGRATIONS.filter((m) => m.version > before).map((m) => m.version), version: sqliteVersion(db) };
    }
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else if (report.applied.length > 0) {
      process.stdout.write(`${report.store}: applied ${report.applied.length === 1 ? 'migration' : 'migrations'} ${report.applied.join(', ')}; schema at version ${report.version}\n`);
    } else {
      process.stdout.write(`${report.store}: up to date, schema at version ${report.version}\n`);
    }
  });
}

/** The highest migration applied to a SQLite file; 0 for a new file. */
function sqliteVersion(file: string): number {
  if (file === ':memory:' || !existsSync(file)) return 0;
  const db = new Database(file, { readonly: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'millrace_migrations'").get();
    if (!table) return 0;
    return (db.prepare('SELECT max(version) AS v FROM millrace_migrations').get() as { v: number | null }).v ?? 0;
  } finally {
    db.close();
  }
}
