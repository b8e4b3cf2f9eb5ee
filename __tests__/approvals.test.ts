import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { decode } from '../lib/serialize.js';
import type { JobRecord } from '../lib/types.js';
import { apiCaller, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from './helpers/processes.js';

/**
 * Approvals and events through a server and a worker process: Windmill's signed resume and
 * cancel URLs, which need no token, and the events route.
 */

let server: { proc: Proc; url: string };
let worker: { proc: Proc; id: string };
let engine: HttpEngine;
const api = apiCaller(() => server.url);

beforeAll(async () => {
  server = await startServerProcess();
  worker = await startWorkerProcess(server.url, ['--concurrency', '4']);
  engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
});
afterAll(async () => {
  await engine?.close();
  await worker?.proc.kill();
  await server?.proc.kill();
});

/** Re-reads `read()` until `done` holds for what it returned (a condition, not a time). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const waitingFor = (id: string, event: string) =>
  until(
    () => engine.descendants(id),
    (d) => d.some((j) => j.kind === 'wait' && j.entrypoint === event && j.status === 'queued'),
  );

/** Starts the approval fixture; resolves once it waits, with the URLs it printed. */
async function approvalJob(
  key = 'approval',
): Promise<{ job: JobRecord; page: string; resume: string; cancel: string }> {
  const job = await engine.submit({ path: '__tests__/fixtures/approval', args: { key } });
  const urls: Record<string, string> = {};
  for await (const { line } of engine.logs(job.id, { follow: true })) {
    const m = /^(page|resume|cancel) (\S+)$/.exec(line);
    if (m) urls[m[1]] = m[2];
    if (urls.cancel) break;
  }
  await waitingFor(job.id, `@approval:${key}`);
  return { job, page: urls.page, resume: urls.resume, cancel: urls.cancel };
}

/** A request with no token at all: a signed URL is its own permission. */
async function call(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
): Promise<{
  status: number;
  json: { error?: { code: string; message: string; problems?: string[] } } & Record<string, unknown>;
}> {
  const res = await request(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: (await res.body.json()) as never };
}

describe('approvals', () => {
  it('the resume URL approves with a value checked against the form; a second use gets 409', async () => {
    const { job, page, resume, cancel } = await approvalJob();
    const sig = resume.split('/').at(-1)!;
    expect(resume).toBe(`${server.url}/api/w/default/jobs_u/resume/${job.id}/approval/${sig}`);
    expect(cancel).toBe(`${server.url}/api/w/default/jobs_u/cancel/${job.id}/approval/${sig}`);
    expect(page).toBe(`${server.url}/#/approve/default/${job.id}/approval/${sig}`);

    const wrongType = await call('POST', resume, { amount: 'five' });
    expect(wrongType).toMatchObject({
      status: 400,
      json: { error: { code: 'APPROVAL_FORM', problems: ['value.amount: must be number'] } },
    });
    const missing = await call('POST', resume, { note: 'no amount' });
    expect(missing).toMatchObject({
      status: 400,
      json: { error: { code: 'APPROVAL_FORM', problems: ['value.amount: is required'] } },
    });
    expect((await engine.get(job.id))!.status).toBe('running'); // refused values changed nothing

    const ok = await call('POST', `${resume}?approver=ann`, { amount: 5, note: 'fine' });
    expect(ok).toMatchObject({ status: 200, json: { job_id: job.id, approved: true } });
    const done = await engine.wait(job.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toEqual({ approved: true, value: { amount: 5, note: 'fine' }, approver: 'ann' });

    const again = await call('POST', resume, { amount: 6 });
    expect(again.status).toBe(409);
    const cancelAfter = await call('GET', cancel);
    expect(cancelAfter.status).toBe(409);
  });

  it('GET on the resume URL takes ?payload= as URL-encoded JSON', async () => {
    const { job, resume } = await approvalJob('by-get');
    const res = await call('GET', `${resume}?payload=${encodeURIComponent(JSON.stringify({ amount: 7 }))}`);
    expect(res.status).toBe(200);
    expect(decode((await engine.wait(job.id)).result!)).toEqual({
      approved: true,
      value: { amount: 7 },
      approver: null,
    });
  });

  it('the cancel URL rejects', async () => {
    const { job, cancel } = await approvalJob();
    expect(await call('GET', cancel)).toMatchObject({ status: 200, json: { approved: false } });
    expect(decode((await engine.wait(job.id)).result!)).toEqual({ approved: false, value: null, approver: null });
  });

  it('a tampered or foreign signature gets 401, and changes nothing', async () => {
    const a = await approvalJob();
    const b = await approvalJob();
    const sigA = a.resume.split('/').at(-1)!;
    const tampered = a.resume.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    const foreign = b.resume.replace(b.resume.split('/').at(-1)!, sigA); // a's signature on b's URL
    const otherKey = a.resume.replace('/approval/', '/other/');
    for (const url of [tampered, foreign, otherKey, a.resume.replace(sigA, 'not-hex')]) {
      const res = await call('POST', url, { amount: 1 });
      expect(res).toMatchObject({ status: 401, json: { error: { code: 'BAD_SIGNATURE' } } });
    }
    expect(
      (
        await call(
          'GET',
          b.cancel.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')),
        )
      ).status,
    ).toBe(401);
    expect((await engine.get(a.job.id))!.status).toBe('running');
    expect((await engine.get(b.job.id))!.status).toBe('running');
    for (const j of [a, b]) await call('GET', j.cancel);
    for (const j of [a, b]) expect((await engine.wait(j.job.id)).status).toBe('success');
  });
});

describe('the events route', () => {
  it('POST /api/w/{ws}/jobs/{id}/events/{name} delivers the JSON body; 404, 409 and 400 for bad targets and names', async () => {
    const job = await engine.submit({ path: '__tests__/fixtures/events', args: { which: 'wait' } });
    await waitingFor(job.id, 'go');
    const sent = await api<{ status: string; wait_job: string }>('POST', `/api/w/default/jobs/${job.id}/events/go`, {
      n: 4,
    });
    expect(sent.status).toBe('delivered');
    const done = await engine.wait(job.id);
    expect(decode(done.result!)).toEqual({ payload: { n: 4 }, isDate: false });
    expect((await engine.descendants(job.id)).find((j) => j.id === sent.wait_job)).toMatchObject({
      kind: 'wait',
      status: 'success',
    });

    const post = async (path: string, body: unknown) => {
      const res = await request(`${server.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, json: (await res.body.json()) as { error: { code: string; message: string } } };
    };
    expect(await post(`/api/w/default/jobs/${job.id}/events/go`, 1)).toMatchObject({
      status: 409,
      json: { error: { code: 'JOB_FINISHED' } },
    });
    expect(await post('/api/w/default/jobs/nosuchjob/events/go', 1)).toMatchObject({
      status: 404,
      json: { error: { code: 'UNKNOWN_JOB' } },
    });
    const badName = await post(`/api/w/default/jobs/${job.id}/events/${encodeURIComponent('@approval:x')}`, 1);
    expect(badName).toMatchObject({
      status: 400,
      json: { error: { code: 'BAD_REQUEST', message: expect.stringContaining('expected an event name') } },
    });
    const noToken = await request(`${server.url}/api/w/default/jobs/${job.id}/events/go`, {
      method: 'POST',
      body: '1',
    });
    expect(noToken.statusCode).toBe(401);
    await noToken.body.dump();
  });

  it('lists the jobs waiting now, with what they wait for', async () => {
    const job = await engine.submit({ path: '__tests__/fixtures/events', args: { which: 'wait' } });
    await waitingFor(job.id, 'go');
    const { waiting } = await api<{
      waiting: { job: JobRecord; event: string; approval: string | null; due_at: number | null }[];
    }>('GET', '/api/w/default/jobs/waiting');
    expect(waiting.find((w) => w.job.id === job.id)).toMatchObject({ event: 'go', approval: null, due_at: null });
    await api('POST', `/api/w/default/jobs/${job.id}/events/go`, { n: 0 });
    expect((await engine.wait(job.id)).status).toBe('success');
  });
});
