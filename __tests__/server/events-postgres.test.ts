import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { request } from 'undici';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { decode } from '../../lib/serialize.js';
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * Events and approvals across two servers on one PostgreSQL: the store decides who takes an
 * event and keeps the signing secret, so a server that did not run the job, or did not sign
 * the URL, serves it as well.
 */
describe('events and approvals on two servers sharing PostgreSQL', () => {
  let admin: pg.Client;
  let dbName: string;
  const procs: Proc[] = [];
  let a: HttpEngine;
  let b: HttpEngine;
  let urlB: string;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: testPgUrl() });
    await admin.connect();
    dbName = freshSchema('mr');
    await admin.query(`CREATE DATABASE ${dbName}`);
    const url = new URL(testPgUrl());
    url.pathname = `/${dbName}`;
    const serverA = await startServerProcess([], url.toString());
    const serverB = await startServerProcess([], url.toString());
    procs.push(serverA.proc, serverB.proc);
    // The only worker is on server A: jobs run there, events and approvals go to B.
    const worker = await startWorkerProcess(serverA.url, ['--concurrency', '2']);
    procs.push(worker.proc);
    a = new HttpEngine({ server: serverA.url, token: TEST_TOKEN });
    b = new HttpEngine({ server: serverB.url, token: TEST_TOKEN });
    urlB = serverB.url;
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    for (const p of procs.reverse()) await p.kill();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  });

  const waitingFor = async (id: string, event: string) => {
    while (
      !(await a.descendants(id)).some((j) => j.kind === 'wait' && j.entrypoint === event && j.status === 'queued')
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('an event sent through the other server resumes the job; one sent before its wait is kept for it', async () => {
    const job = await a.submit({ path: '__tests__/fixtures/events', args: { which: 'gate' } });
    expect((await b.sendEvent(job.id, 'go', 'early')).status).toBe('kept');
    await waitingFor(job.id, 'gate');
    expect((await b.sendEvent(job.id, 'gate', 'open')).status).toBe('delivered');
    const done = await a.wait(job.id);
    expect(decode(done.result!)).toEqual({ gate: 'open', go: 'early' });
  });

  it('a resume URL signed by one server is honoured by the other; a second use is 409 on either', async () => {
    const job = await a.submit({ path: '__tests__/fixtures/approval', args: {} });
    let resume = '';
    for await (const { line } of a.logs(job.id, { follow: true })) {
      if (line.startsWith('resume ')) resume = line.slice(7);
      if (line.startsWith('cancel ')) break;
    }
    await waitingFor(job.id, '@approval:approval');
    const onB = `${urlB}${new URL(resume).pathname}`;
    const res = await request(onB, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: 3 }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(decode((await a.wait(job.id)).result!)).toEqual({ approved: true, value: { amount: 3 }, approver: null });
    const again = await request(resume, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"amount":4}',
    });
    expect(again.statusCode).toBe(409);
    await again.body.dump();
  });
});
