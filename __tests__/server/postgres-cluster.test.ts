import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../lib/store/postgres/migrations.js';
import type { JobRecord } from '../../lib/types.js';

const allMigrations = PG_MIGRATIONS.map((m) => m.version).join(', ');
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** A database of its own on the test cluster, dropped at the end. */
async function freshDatabase(admin: pg.Client): Promise<string> {
  const name = freshSchema('mr');
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(testPgUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

function databaseName(url: string): string {
  return new URL(url).pathname.slice(1);
}

async function untilTrue(check: () => Promise<boolean>): Promise<void> {
  // Waits for a state that no event announces to a client (a heartbeat, every task of a run started).
  while (!(await check())) await new Promise((r) => setTimeout(r, 50));
}

describe('millrace migrate on PostgreSQL', () => {
  let admin: pg.Client;
  let db: string;
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    db = await freshDatabase(admin);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName(db)} WITH (FORCE)`);
    await admin.end();
  });

  it('applies the migrations once, then finds the schema up to date; DATABASE_URL selects the database', async () => {
    const first = startMillrace(['migrate', '--db', db]);
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(
      new RegExp(`: applied migrations? ${allMigrations}; schema at version ${PG_SCHEMA_VERSION}\\n$`),
    );
    const again = startMillrace(['migrate', '--json'], { DATABASE_URL: db, MILLRACE_DB: '' });
    expect(await again.exited).toBe(0);
    expect(JSON.parse(again.output())).toMatchObject({ applied: [], version: PG_SCHEMA_VERSION });
    const bad = startMillrace(['migrate', '--db', 'mysql://u:pw@localhost/x']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain(
      '--db: expected a SQLite file, :memory: or a postgres:// URL, got "mysql://u:***@localhost/x"',
    );
  });
});

describe('two servers and three workers on one PostgreSQL', () => {
  let admin: pg.Client;
  let db: string;
  const procs: Proc[] = [];
  const engines: HttpEngine[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    db = await freshDatabase(admin);
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await admin.query(`DROP DATABASE IF EXISTS ${databaseName(db)} WITH (FORCE)`);
    await admin.end();
  });

  it('runs the seed example submitted through one server and followed through the other; survives kill -9 of a server and a worker', async () => {
    const s1 = await startServerProcess(['--sweep-ms', '200'], db);
    const s2 = await startServerProcess(['--sweep-ms', '200'], db);
    procs.push(s1.proc, s2.proc);
    // Leases long enough that a loaded machine does not lose them; short enough to wait for.
    const lease = ['--lease-ms', '5000'];
    const [a, b] = await Promise.all([
      startWorkerProcess(s1.url, ['--tag', 'default', ...lease]),
      startWorkerProcess(s1.url, ['--tag', 'cpu', '--concurrency', '3', ...lease]),
    ]);
    procs.push(a.proc, b.proc);
    const via1 = new HttpEngine({ server: s1.url, token: TEST_TOKEN });
    const via2 = new HttpEngine({ server: s2.url, token: TEST_TOKEN });
    engines.push(via1, via2);

    // 1. Every job runs on server 1's workers; the log is followed through server 2, which
    //    hears of each line only through PostgreSQL (servers do not poll).
    const first = await via1.submit({ path: 'examples/heavy', args: { n: 3 } });
    const lines: { line: string; source: string | null }[] = [];
    for await (const l of via2.logs(first.id, { follow: true }))
      lines.push({ line: l.line, source: l.source?.name ?? null });
    expect(await via2.wait(first.id)).toMatchObject({ status: 'success', result: 'OK', worker: a.id });
    expect(
      lines
        .filter((l) => l.source === 'heavyCompute')
        .map((l) => l.line.match(/^heavyCompute\((\d)\)/)?.[1])
        .sort(),
    ).toEqual(['0', '1', '2']);
    expect(lines.at(-1)?.source).toBe('sendResult');
    expect(lines.at(-1)?.line).toMatch(/^Sending result \S+ to me@example.com$/);
    for (const c of await via2.descendants(first.id)) {
      expect(c).toMatchObject({ status: 'success', worker: c.tag === 'cpu' ? b.id : a.id });
    }

    // 2. Hold every log write: b claims the three heavyCompute tasks and starts them; the first
    //    line b reports waits on the lock, and b's later reports (its starts, held back to go
    //    with their ends or after, and every completion) wait behind it, in order. That is the
    //    middle of the run, for certain.
    const gate = new pg.Client({ connectionString: db });
    await gate.connect();
    await gate.query('BEGIN');
    await gate.query('LOCK TABLE logs IN EXCLUSIVE MODE');
    const second = await via1.submit({ path: 'examples/heavy', args: { n: 3 } });
    const followed: { line: string; source: string | null }[] = [];
    const following = (async () => {
      for await (const l of via2.logs(second.id, { follow: true }))
        followed.push({ line: l.line, source: l.source?.name ?? null });
    })();
    const logWriteWaits = async () =>
      (
        await gate.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
           WHERE c.relname = 'logs' AND NOT l.granted`,
        )
      ).rows[0].n > 0;
    await untilTrue(async () => {
      const heavy = (await via2.descendants(second.id)).filter((j) => j.entrypoint === 'heavyCompute');
      return heavy.length === 3 && heavy.every((j) => j.worker === b.id) && (await logWriteWaits());
    });
    expect((await via2.descendants(second.id)).map((j) => [j.entrypoint, j.status, j.worker])).toEqual([
      ['heavyCompute', 'running', b.id],
      ['heavyCompute', 'running', b.id],
      ['heavyCompute', 'running', b.id],
    ]);
    expect(await via2.get(second.id)).toMatchObject({ status: 'running', worker: a.id });

    // A third worker joins on server 2, serving both tags: three workers, split between the servers.
    const c = await startWorkerProcess(s2.url, ['--tag', 'cpu', '--tag', 'default', ...lease]);
    procs.push(c.proc);
    await untilTrue(async () => (await via2.workers()).some((w) => w.id === c.id)); // its first heartbeat
    expect((await via2.workers()).map((w) => [w.id, w.tags]).sort()).toEqual(
      [
        [a.id, ['default']],
        [b.id, ['cpu']],
        [c.id, ['cpu', 'default']],
      ].sort(),
    );

    s1.proc.child.kill('SIGKILL');
    b.proc.child.kill('SIGKILL');
    await Promise.all([s1.proc.exited, b.proc.exited]);
    await gate.query('ROLLBACK');
    await gate.end();

    const root = await via2.wait(second.id);
    await following;
    // (The error, if any, shows in the diff.)
    expect({ status: root.status, result: root.result, error: root.error }).toEqual({
      status: 'success',
      result: 'OK',
      error: null,
    });
    const jobs: JobRecord[] = [root, ...(await via2.descendants(second.id))];
    expect(jobs.map((j) => j.status)).toEqual(['success', 'success', 'success', 'success', 'success']);
    const lost = (await Promise.all(jobs.map((j) => via2.attempts(j.id))))
      .flat()
      .filter((t) => t.error?.code === 'LEASE_EXPIRED');
    // Server 1's workers held the root (a, now cut off from its server) and the three tasks
    // (b, dead): their leases ran out, and c ran each job again.
    // (On a loaded machine c may lose a lease too: that is recorded the same way, not counted here.)
    const lostByServer1 = lost.filter((t) => t.worker === a.id || t.worker === b.id).map((t) => [t.jobId, t.worker]);
    expect(lostByServer1.sort()).toEqual(
      jobs
        .filter((j) => j.entrypoint !== 'sendResult')
        .map((j) => [j.id, j.entrypoint === 'main' ? a.id : b.id])
        .sort(),
    );
    const succeeded = (await Promise.all(jobs.map((j) => via2.attempts(j.id))))
      .flat()
      .filter((t) => t.status === 'success');
    expect(succeeded.filter((t) => t.worker !== c.id)).toEqual([]);
    expect(
      new Set(
        followed.filter((l) => l.source === 'heavyCompute').map((l) => l.line.match(/^heavyCompute\((\d)\)/)?.[1]),
      ),
    ).toEqual(new Set(['0', '1', '2']));
    expect(followed.some((l) => l.source === 'sendResult' && l.line.startsWith('Sending result'))).toBe(true);
  }, 180_000);
});
