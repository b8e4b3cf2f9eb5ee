import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import * as wmill from 'windmill-client';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import type { JobRecord } from '../../lib/types.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * Windmill's v1 task call (`POST jobs/run/workflow_as_code/{job}/{entrypoint}` with `{args}`, as
 * windmill-client's task() sends it outside a workflow) and its inline checkpoint
 * (`POST jobs/wac/inline_checkpoint/{id}`) on a server with a worker. The parent is a workflow
 * waiting for an approval, so it stays unfinished until the test approves it.
 */

const FIXTURE = '__tests__/fixtures/windmill/entrypoint';
let server: { proc: Proc; url: string; db: string };
let worker: { proc: Proc; id: string };
let engine: HttpEngine;
let userToken: string;
let workerToken: string;

async function createToken(args: string[]): Promise<string> {
  const proc = startMillrace(['token', 'create', '--db', server.db, ...args]);
  expect(await proc.exited).toBe(0);
  return proc.output().trim();
}

async function post(path: string, body: unknown, token = userToken) {
  const res = await request(`${server.url}/api/w/default/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  const json = String(res.headers['content-type'] ?? '').includes('json') ? (JSON.parse(text) as unknown) : undefined;
  return { status: res.statusCode, text, json };
}

const refused = (code: string, message: RegExp) => ({ error: { code, message: expect.stringMatching(message) } });

/** The parent's own wait child: once it exists, the approval's URLs answer. */
async function waitingFor(parent: string): Promise<void> {
  // A condition re-read, as the other approval tests do: the workflow's first round creates it.
  while (!(await engine.descendants(parent)).some((j) => j.kind === 'wait')) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  server = await startServerProcess();
  worker = await startWorkerProcess(server.url, ['--concurrency', '4']);
  engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
  [userToken, workerToken] = await Promise.all([createToken([]), createToken(['--worker-only'])]);
});
afterAll(async () => {
  await engine.close();
  await worker.proc.kill();
  await server.proc.kill();
});

describe("Windmill's v1 task call and inline checkpoint on a server", () => {
  let parent: string;
  let added: JobRecord;

  beforeAll(async () => {
    parent = (await engine.submit({ path: FIXTURE, args: { label: 'x' } })).id;
  });

  it("runs the parent's exported function by name as its child, with the args by name; its line reaches the parent's log", async () => {
    const res = await post(`jobs/run/workflow_as_code/${parent}/add`, { args: { a: 2, b: 3 } });
    expect(res.status).toBe(201);
    expect(res.text).toMatch(/^[0-9a-z]{20}$/);
    added = await engine.wait(res.text);
    expect(added).toMatchObject({ status: 'success', result: 5, parentJob: parent, entrypoint: 'add', kind: 'script' });
    const lines = [];
    for await (const line of engine.logs(parent)) lines.push(line);
    expect(lines).toContainEqual(
      expect.objectContaining({ line: 'adding 2 and 3', source: expect.objectContaining({ jobId: added.id }) }),
    );
    expect((await engine.get(parent))!.status).not.toMatch(/success|failure|canceled/);
  });

  it('runs an exported task() by name: its body alone, as an inline task’s job does', async () => {
    const res = await post(`jobs/run/workflow_as_code/${parent}/double`, { args: { x: 21 } });
    expect(res.status).toBe(201);
    expect(await engine.wait(res.text)).toMatchObject({ status: 'success', result: 42, parentJob: parent });
  });

  it('windmill-client’s own task() outside a workflow makes the v1 call and waits for its result', async () => {
    // What a job of Windmill's shape has: WM_JOB_ID (here the waiting workflow's), a token, a base URL.
    const saved = { ...process.env };
    Object.assign(process.env, {
      WM_JOB_ID: parent,
      WM_TOKEN: userToken,
      WM_WORKSPACE: 'default',
      BASE_INTERNAL_URL: server.url,
    });
    try {
      wmill.setClient(userToken, server.url);
      const { double } = await import('../fixtures/windmill/entrypoint.js');
      expect(await double(5)).toBe(10);
    } finally {
      process.env = saved;
    }
    const doubled = (await engine.descendants(parent)).filter((j) => j.entrypoint === 'double');
    expect(doubled.map((j) => j.result).sort()).toEqual([10, 42]);
  }, 60_000);

  it('runs an exported function of a plain millrace script by name, on a thread like main', async () => {
    const plain = (await engine.submit({ path: '__tests__/fixtures/entrypoint-plain', args: {} })).id;
    const res = await post(`jobs/run/workflow_as_code/${plain}/greet`, { args: { name: 'ada' } });
    expect(res.status).toBe(201);
    const greeted = await engine.wait(res.text);
    expect(greeted).toMatchObject({ status: 'success', result: 'hello ada!', parentJob: plain, entrypoint: 'greet' });
    const lines = [];
    for await (const line of engine.logs(plain)) lines.push(line);
    expect(lines).toContainEqual(
      expect.objectContaining({ line: 'greeting ada', source: { jobId: greeted.id, name: 'greet' } }),
    );
    const unknown = await post(`jobs/run/workflow_as_code/${plain}/nope`, { args: {} });
    expect(unknown.json).toEqual(
      refused('UNKNOWN_ENTRYPOINT', /exports no function "nope"\. Its exports are: greet, main\./),
    );
    const sent = await post(`jobs/${plain}/events/go`, { ok: true });
    expect(sent.status).toBe(200);
    expect(await engine.wait(plain)).toMatchObject({ status: 'success', result: { ok: true } });
  });

  it('refuses an unknown entrypoint, args that are not an object or do not fit, and a worker-only token', async () => {
    const unknown = await post(`jobs/run/workflow_as_code/${parent}/nope`, { args: {} });
    expect(unknown.status).toBe(422);
    expect(unknown.json).toEqual(
      refused('UNKNOWN_ENTRYPOINT', /exports no function "nope"\. Its exports are: add, double, main\./),
    );
    const notObject = await post(`jobs/run/workflow_as_code/${parent}/add`, { args: [2, 3] });
    expect(notObject.status).toBe(400);
    expect(notObject.json).toEqual(refused('BAD_REQUEST', /^body\.args: expected the function's args by name/));
    const missing = await post(`jobs/run/workflow_as_code/${parent}/add`, {});
    expect(missing.status).toBe(400);
    expect(missing.json).toEqual(refused('BAD_REQUEST', /^body\.args: .*got nothing$/));
    const misfit = await post(`jobs/run/workflow_as_code/${parent}/add`, { args: { a: 'two', b: 3 } });
    expect(misfit.status).toBe(422);
    expect(misfit.json).toMatchObject(
      refused(
        'BAD_ARGS',
        /^Bad args for __tests__\/fixtures\/windmill\/entrypoint's add: a: expected a number, got string "two"$/,
      ),
    );
    const extra = await post(`jobs/run/workflow_as_code/${parent}/add`, { args: { a: 1, b: 1, c: 1 } });
    expect(extra.json).toMatchObject(refused('BAD_ARGS', /unknown arg "c" \(add takes a, b\)$/));
    const byWorker = await post(`jobs/run/workflow_as_code/${parent}/add`, { args: { a: 1, b: 1 } }, workerToken);
    expect(byWorker.status).toBe(409);
    expect(byWorker.json).toMatchObject(refused('LEASE_NOT_HELD', /a worker-only token must name the worker/));
  });

  it('records an inline checkpoint as a step of the job; another value at its key is 409; a finished job refuses', async () => {
    const first = await post(`jobs/wac/inline_checkpoint/${parent}`, {
      key: 'picked',
      result: 'from the server',
      started_at: new Date().toISOString(),
      duration_ms: 3,
    });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ job: { kind: 'step', entrypoint: 'picked', result: 'from the server' } });
    const again = await post(`jobs/wac/inline_checkpoint/${parent}`, { key: 'picked', result: 'from the server' });
    expect(again.status).toBe(200);
    const other = await post(`jobs/wac/inline_checkpoint/${parent}`, { key: 'picked', result: 'another' });
    expect(other.status).toBe(409);
    expect(other.json).toEqual(refused('STEP_RECORDED', /^Step "picked" of job \w+ was recorded earlier/));
    const finished = await post(`jobs/wac/inline_checkpoint/${added.id}`, { key: 'late', result: 1 });
    expect(finished.status).toBe(409);
    expect(finished.json).toEqual(refused('JOB_FINISHED', /has finished \(success\): a step can be recorded only/));
    const noKey = await post(`jobs/wac/inline_checkpoint/${parent}`, { result: 1 });
    expect(noKey.status).toBe(400);
    expect(noKey.json).toEqual(refused('BAD_REQUEST', /^body\.key: expected a non-empty string/));
    const noResult = await post(`jobs/wac/inline_checkpoint/${parent}`, { key: 'k' });
    expect(noResult.status).toBe(400);
    expect(noResult.json).toEqual(refused('BAD_REQUEST', /^body\.result: expected the step's result/));
    const byWorker = await post(`jobs/wac/inline_checkpoint/${parent}`, { key: 'w', result: 1 }, workerToken);
    expect(byWorker.status).toBe(403);
  });

  it('the workflow’s next round gets the value recorded on the server, and its step never runs', async () => {
    await waitingFor(parent);
    const asked = await request(`${server.url}/api/w/default/jobs/wac_approval_urls/${parent}/go`, {
      headers: { authorization: `Bearer ${userToken}` },
    });
    const { resume } = (await asked.body.json()) as { resume: string };
    const approved = await request(resume, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(approved.statusCode).toBe(200);
    await approved.body.text();
    const done = await engine.wait(parent);
    expect(done).toMatchObject({ status: 'success', result: { approved: true, picked: 'from the server' } });
    const steps = (await engine.descendants(parent)).filter((j) => j.kind === 'step');
    expect(steps.map((j) => [j.entrypoint, j.result])).toEqual([['picked', 'from the server']]);
  }, 60_000);
});
