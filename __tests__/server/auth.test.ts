import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

async function call(url: string, method: 'GET' | 'POST', path: string, token: string | undefined, body?: unknown) {
  const res = await request(`${url}${path}`, {
    method,
    headers: {
      ...(token && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  const json = (res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : undefined;
  return { status: res.statusCode, text, json };
}

async function createToken(db: string, args: string[]): Promise<string> {
  const proc = startMillrace(['token', 'create', '--db', db, ...args]);
  expect(await proc.exited).toBe(0);
  return proc.output().trim();
}

describe('auth and workspaces', () => {
  let server: { proc: Proc; url: string; db: string };
  let worker: { proc: Proc; id: string };
  let w1: string;
  let w2: string;
  let w1Worker: string;

  beforeAll(async () => {
    server = await startServerProcess();
    [w1, w2, w1Worker] = await Promise.all([
      createToken(server.db, ['--workspace', 'w1']),
      createToken(server.db, ['--workspace', 'w2']),
      createToken(server.db, ['--workspace', 'w1', '--worker-only']),
    ]);
    worker = await startWorkerProcess(server.url, ['--workspace', 'w1', '--tag', 'default', '--tag', 'cpu'], w1Worker);
  });
  afterAll(async () => {
    await worker?.proc.kill();
    await server?.proc.kill();
  });

  it('token create prints a fresh token each time', () => {
    expect(w1).toMatch(/^mr_[\w-]{32}$/);
    expect(new Set([w1, w2, w1Worker]).size).toBe(3);
  });

  it('a missing or wrong token gets 401 with a JSON error', async () => {
    for (const token of [undefined, 'mr_wrong']) {
      const res = await call(server.url, 'GET', '/api/w/w1/jobs/list', token);
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHORIZED');
      expect(res.json.error.message).toMatch(token ? /Unknown token/ : /Missing token/);
    }
  });

  it('a W1 token runs in W1 (on W1’s worker) but cannot read, cancel or run anything in W2', async () => {
    const run = await call(server.url, 'POST', '/api/w/w1/jobs/run_wait_result/p/examples/heavy', w1, { n: 1 });
    expect(run).toMatchObject({ status: 200, json: 'OK' });
    const w2Job = await call(server.url, 'POST', '/api/w/w2/jobs/run/p/examples/heavy', w2, { n: 1 });
    expect(w2Job.status).toBe(201);
    const id = w2Job.text;

    // W1's token, pointed at W2's routes or at W2's job through W1's routes: not found.
    for (const [method, path, body] of [
      ['POST', '/api/w/w2/jobs/run/p/examples/heavy', { n: 1 }],
      ['GET', `/api/w/w2/jobs_u/get/${id}`, undefined],
      ['GET', `/api/w/w1/jobs_u/get/${id}`, undefined],
      ['GET', `/api/w/w1/jobs_u/completed/get_result_maybe/${id}`, undefined],
      ['POST', `/api/w/w1/jobs_u/queue/cancel/${id}`, { reason: 'x' }],
      ['POST', `/api/w/w2/jobs_u/queue/cancel/${id}`, { reason: 'x' }],
      ['GET', `/api/w/w1/jobs_u/logs/${id}`, undefined],
    ] as const) {
      const res = await call(server.url, method, path, w1, body);
      expect([path, res.status]).toEqual([path, 404]);
      expect(res.json.error.message).toMatch(/No (workspace "w2"|job with id)/);
    }
    const w1List = await call(server.url, 'GET', '/api/w/w1/jobs/list', w1);
    expect(w1List.json.map((j: { id: string }) => j.id)).not.toContain(id);
    // W2's job is untouched and still queued: no W2 worker is running.
    const mine = await call(server.url, 'GET', `/api/w/w2/jobs_u/get/${id}`, w2);
    expect(mine.json).toMatchObject({ id, type: 'QueuedJob', canceled: false });
  });

  it('a worker-only token reaches the worker routes and nothing else', async () => {
    const res = await call(server.url, 'GET', '/api/w/w1/jobs/list', w1Worker);
    expect(res.status).toBe(403);
    expect(res.json.error.message).toMatch(/This token is for workers/);
    const run = await call(server.url, 'POST', '/api/w/w1/jobs/run/p/examples/heavy', w1Worker, { n: 1 });
    expect(run.status).toBe(403);
    const hb = await call(server.url, 'POST', '/api/w/w1/worker/heartbeat', w1Worker, {
      worker_id: 'x',
      hostname: 'h',
      tags: ['a'],
      job_ids: [],
      lease_ms: 1000,
    });
    expect(hb).toMatchObject({ status: 200, json: { lost: [] } });
    const other = await call(server.url, 'POST', '/api/w/w2/worker/heartbeat', w1Worker, {
      worker_id: 'x',
      hostname: 'h',
      tags: ['a'],
      job_ids: [],
      lease_ms: 1000,
    });
    expect(other.status).toBe(404);
  });

  it('the admin token (MILLRACE_TOKEN) reaches every workspace', async () => {
    const res = await call(server.url, 'GET', '/api/w/w2/jobs/list', TEST_TOKEN);
    expect(res.status).toBe(200);
  });
});

describe('the first start', () => {
  it('creates and prints an admin token when the store has none and MILLRACE_TOKEN is unset, and keeps it in the token file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'millrace-root-'));
    const proc = startMillrace(['server', '--port', '0', '--db', ':memory:', '--root', root], { MILLRACE_TOKEN: '' });
    const [, token] = await proc.waitFor(/admin token \(shown once; keep it\): (mr_\S+)/);
    const [, url] = await proc.waitFor(/listening on (http:\/\/[\d.:]+)/);
    expect((await call(url, 'GET', '/api/w/default/jobs/list', token)).status).toBe(200);
    const path = join(root, '.millrace/admin-token.json');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ token, url, root });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    await proc.kill();
  });
});
