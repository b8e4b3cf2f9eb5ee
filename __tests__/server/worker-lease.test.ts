import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { resolveScript } from '../../lib/loader/paths.js';
import { decode } from '../../lib/serialize.js';
import { createToken } from '../../lib/server/auth.js';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobRecord, Json } from '../../lib/types.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

const SAY = '__tests__/fixtures/say';

/** A worker may change only the jobs it holds the current lease of (worker id + attempt of its claim). */
describe('worker routes check the caller’s lease', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  let workerToken: string;
  let userToken: string;
  let worker: { proc: Proc; id: string } | undefined;

  async function call(method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
    const res = await request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    const json = String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : undefined;
    return { status: res.statusCode, text, json };
  }
  const submit = async (word: string) =>
    (await call('POST', `/api/w/default/jobs/run/p/${SAY}`, TEST_TOKEN, { word })).text;
  const job = async (id: string) => (await store.get(id))!;

  beforeAll(async () => {
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TEST_TOKEN, restartGraceMs: 0 });
    workerToken = (await createToken(store, { scope: 'worker', label: 'w' })).token;
    userToken = (await createToken(store, { scope: 'user', label: 'u' })).token;
  });
  afterAll(async () => {
    await worker?.proc.kill();
    await server?.close();
    await store?.close();
  });

  it('a worker-only token cannot run main through workflow_as_code of a job it does not run; the worker that holds it can', async () => {
    const parent = await submit('parent');
    const hash = resolveScript(REPO_ROOT, SAY).hash;
    const path = `/api/w/default/jobs/run/workflow_as_code/${parent}/main`;
    const attack = { script_path: SAY, script_hash: hash, kind: 'script', args: { word: 'pwned' } };

    const anonymous = await call('POST', path, workerToken, attack);
    expect(anonymous.status).toBe(409);
    expect(anonymous.json.error).toMatchObject({ code: 'LEASE_NOT_HELD', jobs: [parent] });
    expect(anonymous.json.error.message).toMatch(/must name the worker that runs job/);
    const named = await call('POST', path, workerToken, { ...attack, worker_id: 'evil', parent_attempt: 1 });
    expect(named.status).toBe(409);
    expect(named.json.error.message).toMatch(new RegExp(`job ${parent} is queued: no worker has claimed it`));
    expect(await store.list({ parentJob: parent, limit: 10 })).toEqual([]);

    // The worker that claimed it makes its calls, and only that attempt of it.
    const claim = await call('POST', '/api/w/default/worker/claim', workerToken, {
      worker_id: 'w-holder',
      hostname: 'h',
      tags: ['default'],
      limit: 1,
      lease_ms: 60_000,
      wait_ms: 5_000,
    });
    const claimed = claim.json.jobs as JobRecord[];
    expect(claimed.map((j) => j.id)).toEqual([parent]);
    const attempt = claimed[0].attempt;
    const other = await call('POST', path, workerToken, { ...attack, worker_id: 'w-other', parent_attempt: attempt });
    expect(other.status).toBe(409);
    expect(other.json.error.message).toMatch(
      /running attempt \d+ on worker w-holder, not attempt \d+ on worker w-other/,
    );
    const stale = await call('POST', path, workerToken, {
      ...attack,
      worker_id: 'w-holder',
      parent_attempt: attempt - 1,
    });
    expect(stale.status).toBe(409);
    const held = await call('POST', path, workerToken, {
      ...attack,
      worker_id: 'w-holder',
      parent_attempt: attempt,
      kind: 'script',
      args: { word: 'child' },
    });
    expect(held.status).toBe(201);
    expect((await store.list({ parentJob: parent, limit: 10 })).map((j) => j.id)).toEqual([held.text]);

    const done = await call('POST', '/api/w/default/worker/report', workerToken, {
      worker_id: 'w-holder',
      events: [
        { type: 'finish', job_id: parent, attempt, outcome: { status: 'success', result: 'held' }, at: Date.now() },
      ],
    });
    expect(done).toMatchObject({ status: 200, json: { rejected: [] } });
    expect(await job(parent)).toMatchObject({ status: 'success', result: 'held' });
  });

  it('a worker’s batch of calls checks the parent’s lease in its inserts: refused and nothing recorded unless it holds the parent', async () => {
    const parent = await submit('batch-parent');
    const hash = resolveScript(REPO_ROOT, SAY).hash;
    const path = `/api/w/default/jobs/run/workflow_as_code/${parent}/main`;
    const batch = (worker: string, attempt: number) => ({
      script_path: SAY,
      script_hash: hash,
      kind: 'script',
      worker_id: worker,
      parent_attempt: attempt,
      calls: [{ args: { word: 'one' } }, { args: { word: 'two' }, take_id: 'takenchild0000000001' }],
    });
    const unclaimed = await call('POST', path, workerToken, batch('w-batcher', 1));
    expect(unclaimed.status).toBe(409);
    expect(unclaimed.json.error).toMatchObject({ code: 'LEASE_NOT_HELD', jobs: [parent] });
    expect(unclaimed.json.error.message).toMatch(new RegExp(`job ${parent} is queued: no worker has claimed it`));
    const elsewhere = await call('POST', path.replace('/w/default/', '/w/other/'), TEST_TOKEN, batch('w-batcher', 1));
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.json.error.code).toBe('UNKNOWN_JOB');

    const claim = await call('POST', '/api/w/default/worker/claim', workerToken, {
      worker_id: 'w-batcher',
      hostname: 'h',
      tags: ['default'],
      limit: 10,
      lease_ms: 60_000,
      wait_ms: 5_000,
    });
    // The earlier tests' queued jobs come with it.
    const { attempt } = (claim.json.jobs as JobRecord[]).find((j) => j.id === parent)!;
    const other = await call('POST', path, workerToken, batch('w-other', attempt));
    expect(other.status).toBe(409);
    expect(other.json.error.message).toMatch(
      /running attempt \d+ on worker w-batcher, not attempt \d+ on worker w-other/,
    );
    expect(await store.list({ parentJob: parent, limit: 10 })).toEqual([]);

    const held = await call('POST', path, workerToken, batch('w-batcher', attempt));
    expect(held.status).toBe(201);
    expect(held.json.taken.map((j: JobRecord) => [j.id, j.status, j.worker])).toEqual([
      ['takenchild0000000001', 'running', 'w-batcher'],
    ]);
    expect((await store.list({ parentJob: parent, limit: 10 })).map((j) => j.id).sort()).toEqual(
      [...held.json.ids].sort(),
    );

    await store.finish(parent, { status: 'success', result: null }, Date.now());
    const finished = await call('POST', path, workerToken, batch('w-batcher', attempt));
    expect(finished.status).toBe(409);
    expect(finished.json.error.code).toBe('PARENT_FINISHED');
    expect(await store.list({ parentJob: parent, limit: 10 })).toHaveLength(2);
  });

  it('a forged completion of a never-claimed job is refused; the job stays queued and later runs normally', async () => {
    const id = await submit('real');
    const forged = { type: 'finish', job_id: id, outcome: { status: 'success', result: 'forged' }, at: Date.now() };
    for (const token of [userToken, workerToken, TEST_TOKEN]) {
      for (const attempt of [0, 1]) {
        const res = await call('POST', '/api/w/default/worker/report', token, {
          worker_id: 'forger',
          events: [{ ...forged, attempt }],
        });
        expect(res.status).toBe(200);
        expect(res.json.rejected).toEqual([
          expect.objectContaining({ index: 0, status: 409, code: 'LEASE_NOT_HELD', job_id: id }),
        ]);
        expect(res.json.rejected[0].message).toMatch(
          /nothing was written: job \w+ is queued: no worker has claimed it/,
        );
      }
      // The routes that took a completion, a start or log lines from anyone are gone.
      for (const route of ['complete', 'started', 'logs']) {
        const old = await call('POST', `/api/w/default/worker/${route}`, token, { ...forged, lines: [] });
        expect([route, old.status]).toEqual([route, 404]);
      }
    }
    expect(await job(id)).toMatchObject({ status: 'queued', attempt: 0, result: null });
    expect(await store.readLogs(id)).toEqual([]);

    worker = await startWorkerProcess(server.url);
    const done = await server.coordinator.waitFinished(id);
    expect(done).toMatchObject({ status: 'success', worker: worker.id, attempt: 1 });
    expect(decode(done.result as Json)).toBe('REAL');
    expect((await store.readLogs(id)).map((l) => l.line)).toEqual(['saying real']);
  });

  it('a report to a finished job’s log is refused, even from the worker that ran it, and the log is unchanged', async () => {
    worker ??= await startWorkerProcess(server.url);
    const id = await submit('once');
    const done = await server.coordinator.waitFinished(id);
    expect(done).toMatchObject({ status: 'success', worker: worker!.id });
    const before = await store.readLogs(id);
    expect(before.map((l) => l.line)).toEqual(['saying once']);

    const line = { type: 'logs', job_id: id, lines: [{ ts: Date.now(), stream: 'stdout', line: 'forged line' }] };
    for (const [token, workerId] of [
      [workerToken, worker!.id],
      [userToken, 'anyone'],
    ]) {
      const res = await call('POST', '/api/w/default/worker/report', token, {
        worker_id: workerId,
        events: [{ ...line, attempt: done.attempt }],
      });
      expect(res.status).toBe(200);
      expect(res.json.rejected).toEqual([
        expect.objectContaining({ index: 0, status: 409, code: 'LEASE_NOT_HELD', job_id: id }),
      ]);
      expect(res.json.rejected[0].message).toMatch(new RegExp(`job ${id} has finished \\(success\\)`));
    }
    expect(await store.readLogs(id)).toEqual(before);
  });

  it('a report is checked per job: the events of a job not held are refused and none written, the held job loses nothing', async () => {
    // Held by a worker of the test's own (claimed straight through the route).
    await worker!.proc.kill();
    worker = undefined;
    const mine = await submit('mine');
    const claim = await call('POST', '/api/w/default/worker/claim', workerToken, {
      worker_id: 'w-batch',
      hostname: 'h',
      tags: ['default'],
      limit: 1,
      lease_ms: 60_000,
      wait_ms: 5_000,
    });
    const [held] = claim.json.jobs as JobRecord[];
    expect(held.id).toBe(mine);
    const finished = (await store.list({ status: ['success'], limit: 1 }))[0];
    const lines = [{ ts: Date.now(), stream: 'stdout', line: 'x' }];
    const res = await call('POST', '/api/w/default/worker/report', workerToken, {
      worker_id: 'w-batch',
      events: [
        { type: 'started', job_id: mine, attempt: held.attempt, at: Date.now() },
        { type: 'logs', job_id: mine, attempt: held.attempt, lines },
        { type: 'logs', job_id: finished.id, attempt: finished.attempt, lines },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.rejected).toEqual([
      expect.objectContaining({ index: 2, status: 409, code: 'LEASE_NOT_HELD', job_id: finished.id }),
    ]);
    expect(await job(mine)).toMatchObject({ status: 'running', startedAt: expect.any(Number) });
    expect((await store.readLogs(mine)).map((l) => l.line)).toEqual(['x']);
    expect((await store.readLogs(finished.id)).map((l) => l.line)).not.toContain('x');

    // Nothing may follow a job's end in one report either.
    const after = await call('POST', '/api/w/default/worker/report', workerToken, {
      worker_id: 'w-batch',
      events: [
        {
          type: 'finish',
          job_id: mine,
          attempt: held.attempt,
          outcome: { status: 'success', result: 'M' },
          at: Date.now(),
        },
        { type: 'logs', job_id: mine, attempt: held.attempt, lines },
      ],
    });
    expect(after.status).toBe(200);
    expect(after.json.rejected.map((r: { index: number }) => r.index)).toEqual([0, 1]);
    expect(after.json.rejected[0].message).toMatch(/has an event after its end in this report/);
    expect(await job(mine)).toMatchObject({ status: 'running' });
  });
});
