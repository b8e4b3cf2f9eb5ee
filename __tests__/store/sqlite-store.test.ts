import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, jest } from '@jest/globals';
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

  // Migration 12 swaps the full claim indexes for partial ones of queued jobs: a file made
  // before it keeps its queue, and the jobs queued in it are claimed off the new indexes.
  it('keeps a queue across migration 12 (claim indexes of queued jobs only)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'm.db');
    const first = new SqliteStore({ file });
    const queued = await first.enqueue({
      kind: 'script',
      scriptPath: 'x',
      scriptHash: 'h',
      entrypoint: 'main',
      args: {},
    });
    await first.close();
    // The file as migration 11 left it.
    const raw = new Database(file);
    raw.exec(`DROP INDEX jobs_queued_priority; DROP INDEX jobs_queued;
      CREATE INDEX jobs_claim ON jobs (status, scheduled_for);
      CREATE INDEX jobs_claim_priority ON jobs (status, priority DESC, scheduled_for);
      DELETE FROM millrace_migrations WHERE version = 12`);
    raw.close();
    const second = new SqliteStore({ file });
    const indexes = (second as unknown as { db: Database.Database }).db
      .prepare(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'jobs_claim%' OR name LIKE 'jobs_queued%'",
      )
      .all();
    expect(indexes).toEqual([{ name: 'jobs_queued_priority' }, { name: 'jobs_queued' }]);
    const claimed = await second.claim({ workerId: 'w', tags: 'all', limit: 5, leaseMs: 30_000 });
    expect(claimed.map((j) => j.id)).toEqual([queued.job.id]);
    await second.close();
  });

  // A store opened on months of history must not read every job to count or claim the live
  // ones: no statement it prepares scans the jobs table, and the ones that walk an index of
  // jobs walk a partial one (queued or running jobs only).
  it('reads live jobs off the partial indexes, never the whole jobs table', async () => {
    const prepare = jest.spyOn(Database.prototype, 'prepare');
    const store = new SqliteStore({ file: ':memory:' });
    const prepared = prepare.mock.calls.map(([sql]) => sql);
    prepare.mockRestore();
    const db = (store as unknown as { db: Database.Database }).db;
    const walks: string[] = [];
    for (const sql of new Set(
      prepared.filter((s) => /\bjobs\b/.test(s) && !/^\s*(CREATE|INSERT INTO jobs \()/.test(s)),
    )) {
      const names = [...new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1]))];
      const params = Object.fromEntries(names.map((n) => [n, n === 'tags' || n === 'roots' ? '[]' : 1]));
      const positional = new Array<number>((sql.match(/\?/g) ?? []).length).fill(1);
      const explain = db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
      const plan = (names.length ? explain.all(...positional, params) : explain.all(...positional)) as {
        detail: string;
      }[];
      for (const { detail } of plan) {
        expect({ sql, detail }).not.toEqual({ sql, detail: expect.stringMatching(/^SCAN (jobs|j|d|r)$/) });
        const walk = /^SCAN \w+ USING (?:COVERING )?INDEX (\w+)/.exec(detail);
        if (walk) walks.push(walk[1]);
      }
    }
    expect(new Set(walks)).toEqual(new Set(['jobs_queued_priority', 'jobs_queued', 'jobs_lease']));
    await store.close();
  });

  it('says clearly when the file cannot be opened', () => {
    const notADir = join(mkdtempSync(join(tmpdir(), 'mr-store-')), 'plain-file');
    writeFileSync(notADir, 'x');
    const file = join(notADir, 'sub', 'm.db');
    expect(() => new SqliteStore({ file })).toThrow(`Cannot open the SQLite store at ${file}`);
  });
});
