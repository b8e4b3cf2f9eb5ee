import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { HttpSchedules } from '../../lib/engine/http-schedules.js';
import { ApiClient } from '../../lib/http/api-client.js';
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** A database of its own on the test cluster, dropped at the end. */
async function freshDatabase(admin: pg.Client): Promise<string> {
  const name = freshSchema('mr');
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(testPgUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function untilTrue(check: () => Promise<boolean>): Promise<void> {
  // Runs are made by the servers' clocks: no event reaches the test when one is recorded.
  while (!(await check())) await new Promise((r) => setTimeout(r, 100));
}

describe('a seconds-level schedule on two servers sharing one PostgreSQL', () => {
  let admin: pg.Client;
  let db: string;
  const procs: Proc[] = [];
  const clients: ApiClient[] = [];
  const engines: HttpEngine[] = [];

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    db = await freshDatabase(admin);
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await admin.query(`DROP DATABASE IF EXISTS ${new URL(db).pathname.slice(1)} WITH (FORCE)`);
    await admin.end();
  });

  it('runs each slot exactly once over at least 10 slots, counted from the runs recorded', async () => {
    const s1 = await startServerProcess([], db);
    const s2 = await startServerProcess([], db);
    procs.push(s1.proc, s2.proc);
    const worker = await startWorkerProcess(s1.url, ['--concurrency', '4']);
    procs.push(worker.proc);
    const c1 = new ApiClient({ server: s1.url, token: TEST_TOKEN });
    const c2 = new ApiClient({ server: s2.url, token: TEST_TOKEN });
    clients.push(c1, c2);
    const via2 = new HttpEngine({ server: s2.url, token: TEST_TOKEN });
    engines.push(via2);

    // Made through server 1; server 2 learns of it from the database (its refresh).
    const made = await new HttpSchedules(c1, 'default').create({
      name: 'every-second',
      path: '__tests__/fixtures/tick',
      cron: '* * * * * *',
      args: { label: 'second' },
    });
    expect(made).toMatchObject({ name: 'every-second', cron: '* * * * * *', timezone: 'UTC', paused: false });
    const seen2 = await new HttpSchedules(c2, 'default').get('every-second');
    expect(seen2.id).toBe(made.id);

    const runs = () => via2.list({ scriptPath: '__tests__/fixtures/tick', limit: 1000 });
    // Both servers fire every slot once server 2 has read the schedule (within its 5 s refresh):
    // 12 runs from then on are slots both raced for.
    await untilTrue(async () => (await runs()).length >= 18);
    const paused = await new HttpSchedules(c2, 'default').setPaused('every-second', true);
    expect(paused.paused).toBe(true);
    // A slot already being submitted when the pause landed may still be recorded: read after
    // the servers have looked at the schedule again, which they do at each slot.
    const recorded = await runs();

    const keys = recorded.map((r) => r.idempotencyKey!);
    // Every run carries its slot's key, and no key twice: each slot ran once.
    expect(keys.every((k) => k.startsWith(`schedule:${made.id}:`))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    const slots = keys.map((k) => Number(k.slice(`schedule:${made.id}:`.length))).sort((a, b) => a - b);
    // Whole seconds, one apart: no slot skipped while the servers ran.
    expect(slots.every((s) => s % 1000 === 0)).toBe(true);
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBe(1000);
    expect(slots.length).toBeGreaterThanOrEqual(18);
    // The database agrees: one job per slot key.
    const direct = new pg.Client({ connectionString: db });
    await direct.connect();
    try {
      const { rows } = await direct.query<{ keys: number; jobs: number }>(
        "SELECT count(DISTINCT idempotency_key)::int AS keys, count(*)::int AS jobs FROM jobs WHERE idempotency_key LIKE 'schedule:%'",
      );
      expect(rows[0].keys).toBe(rows[0].jobs);
    } finally {
      await direct.end();
    }
    // Each run ran: the worker finished them with their args.
    await untilTrue(async () => (await runs()).every((r) => r.status === 'success'));
    expect((await runs()).every((r) => r.result === 'second')).toBe(true);
  });
});
