import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { maxOverlap } from '../helpers/overlap.js';
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * Concurrency limits hold across processes: the store's claim enforces them, so two workers
 * (one server) and two servers (one PostgreSQL) never run more than the limit of a key at once.
 */
const procs: Proc[] = [];
const engines: HttpEngine[] = [];
const databases: string[] = [];
let admin: pg.Client | undefined;

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  if (admin) {
    for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
  }
});

/** Runs 12 calls across 2 keys with limit 3 through `engine`; checks each key's overlap is exactly 3. */
async function runLimited(engine: HttpEngine, workerIds: readonly string[]): Promise<void> {
  const root = await engine.submit({
    path: '__tests__/fixtures/flow-control',
    args: { mode: 'limit', count: 12, ms: 300 },
  });
  expect(await engine.wait(root.id)).toMatchObject({ status: 'success' });
  const children = await engine.descendants(root.id);
  expect(children).toHaveLength(12);
  for (const key of ['api:stripe', 'api:github']) {
    const ofKey = children.filter((j) => j.flowControl?.concurrency?.key === key);
    expect(ofKey).toHaveLength(6);
    expect(maxOverlap(ofKey)).toBe(3);
  }
  // Which worker claims which child is a race between their long polls; every child ran on one of them.
  for (const j of children) expect(workerIds).toContain(j.worker);
}

describe('concurrency limits across processes', () => {
  it('two worker processes on one server', async () => {
    const server = await startServerProcess();
    procs.push(server.proc);
    const workers = await Promise.all(
      [0, 1].map(() => startWorkerProcess(server.url, ['--concurrency', '8', '--prefetch', '0'])),
    );
    procs.push(...workers.map((w) => w.proc));
    const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
    engines.push(engine);
    await runLimited(
      engine,
      workers.map((w) => w.id),
    );
  });

  it('two servers sharing PostgreSQL, a worker on each', async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    const name = freshSchema('mr');
    await admin.query(`CREATE DATABASE ${name}`);
    databases.push(name);
    const url = new URL(testPgUrl());
    url.pathname = `/${name}`;
    const [s1, s2] = await Promise.all([
      startServerProcess([], url.toString()),
      startServerProcess([], url.toString()),
    ]);
    procs.push(s1.proc, s2.proc);
    const workers = await Promise.all(
      [s1, s2].map((s) => startWorkerProcess(s.url, ['--concurrency', '8', '--prefetch', '0'])),
    );
    procs.push(...workers.map((w) => w.proc));
    const engine = new HttpEngine({ server: s1.url, token: TEST_TOKEN });
    engines.push(engine);
    await runLimited(
      engine,
      workers.map((w) => w.id),
    );
  });
});
