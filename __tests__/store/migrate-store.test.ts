import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { migrateStore } from '../../lib/store/open.js';
import { MIGRATIONS } from '../../lib/store/sqlite/migrations.js';

/** `millrace migrate` on SQLite: the store is chosen and migrated through store/open.ts. */
describe('migrateStore on a SQLite file', () => {
  const root = mkdtempSync(join(tmpdir(), 'millrace-migrate-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('applies every migration to a new file once, then reports it up to date', async () => {
    const db = join(root, 'store.db');
    const latest = MIGRATIONS[MIGRATIONS.length - 1].version;
    expect(await migrateStore({ db, root })).toEqual({
      store: db,
      applied: MIGRATIONS.map((m) => m.version),
      version: latest,
    });
    expect(await migrateStore({ db, root })).toEqual({ store: db, applied: [], version: latest });
  });

  it('takes the default file under the root when no --db is given', async () => {
    const saved = { MILLRACE_DB: process.env.MILLRACE_DB, DATABASE_URL: process.env.DATABASE_URL };
    delete process.env.MILLRACE_DB;
    delete process.env.DATABASE_URL;
    try {
      const report = await migrateStore({ root });
      expect(report.store).toBe(join(root, '.millrace', 'millrace.db'));
      expect(report.applied).toHaveLength(MIGRATIONS.length);
    } finally {
      Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)));
    }
  });
});
