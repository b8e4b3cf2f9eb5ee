import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { MIGRATIONS } from '../../lib/store/sqlite/migrations.js';
import { storeConformance } from './conformance.js';
import { operationsConformance } from './operations-conformance.js';
import { flowControlConformance } from './flow-control-conformance.js';

storeConformance(
  'sqlite (file)',
  async () => new SqliteStore({ file: join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'm.db') }),
);
storeConformance('sqlite (:memory:)', async () => new SqliteStore({ file: ':memory:' }));
operationsConformance(
  'sqlite (file)',
  async () => new SqliteStore({ file: join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'm.db') }),
);
operationsConformance('sqlite (:memory:)', async () => new SqliteStore({ file: ':memory:' }));
flowControlConformance('sqlite', async () => new SqliteStore({ file: ':memory:' }));

describe('SqliteStore', () => {
  it('uses WAL mode and records its migrations', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'nested', 'dir', 'm.db');
    const store = new SqliteStore({ file });
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const versions = db.prepare('SELECT version FROM millrace_migrations ORDER BY version').all() as {
      version: number;
    }[];
    expect(versions.map((v) => v.version)).toEqual(MIGRATIONS.map((m) => m.version));
    db.close();
  });

  it('keeps what it stored across a reopen, and migrates only once', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'm.db');
    const first = new SqliteStore({ file });
    const { job } = await first.enqueue({
      kind: 'script',
      scriptPath: 'x',
      scriptHash: 'h',
      entrypoint: 'main',
      args: {},
    });
    await first.appendLogs(job.id, [{ ts: 1, stream: 'stdout', line: 'kept' }]);
    await first.close();
    const second = new SqliteStore({ file });
    expect((await second.get(job.id))?.id).toBe(job.id);
    expect((await second.readLogs(job.id)).map((l) => l.line)).toEqual(['kept']);
    await second.close();
  });

  // A worker over HTTP outlives a crash of the server: had the server answered its claim
  // before committing it, a restart would find the job queued and hand it out again.
  it('answers a durable claim (a worker in another process) only once it is committed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'm.db');
    const store = new SqliteStore({ file });
    const { job } = await store.enqueue({
      kind: 'script',
      scriptPath: 'x',
      scriptHash: 'h',
      entrypoint: 'main',
      args: {},
    });
    const other = new Database(file, { readonly: true });
    const statusSeenByOther = () =>
      (other.prepare('SELECT status FROM jobs WHERE id = ?').get(job.id) as { status: string }).status;
    const claimed = await store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 30_000, durable: true });
    expect(claimed.map((j) => j.id)).toEqual([job.id]);
    expect(statusSeenByOther()).toBe('running');
    other.close();
    await store.close();
  });

  it('says clearly when the file cannot be opened', () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'plain-file');
    writeFileSync(notADir, 'x');
    const file = join(notADir, 'sub', 'm.db');
    expect(() => new SqliteStore({ file })).toThrow(`Cannot open the SQLite store at ${file}`);
  });
});
