import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SIGHTING_WRITE_MS, WorkerSightings } from '../../lib/server/worker-sightings.js';
import type { Store } from '../../lib/store/store.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import type { JobRecord } from '../../lib/types.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { TEST_TOKEN } from '../helpers/processes.js';
import { overriding } from '../helpers/overriding.js';

const SAY = '__tests__/fixtures/say';

/**
 * How a server writes what workers tell it: a report's jobs side by side (each job's events in
 * order), and a worker's sighting at most once a second.
 */
describe('a worker report’s writes and a worker’s sightings', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  /** markStarted of this job waits until finish of `fast` is asked of the store. */
  let slow = '';
  let fast = '';
  let fastFinishing!: () => void;
  const fastFinishAsked = new Promise<void>((resolve) => (fastFinishing = resolve));
  const touches: string[] = [];

  async function call(path: string, body: unknown) {
    const res = await request(`${server.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  }
  const claim = async (workerId: string, tags: string[], limit: number) =>
    (
      await call('/api/w/default/worker/claim', {
        worker_id: workerId,
        hostname: 'h',
        tags,
        limit,
        lease_ms: 60_000,
        wait_ms: 0,
      })
    ).json.jobs as JobRecord[];

  beforeAll(async () => {
    store = new SqliteStore({ file: tempDb() });
    // The real store, with two of its verbs watched.
    const watched = overriding(store, {
      markStarted: async (id: string, at: number) => {
        if (id === slow) await fastFinishAsked;
        return store.markStarted(id, at);
      },
      finish: (...args: Parameters<Store['finish']>) => {
        if (args[0] === fast) fastFinishing();
        return store.finish(...args);
      },
      touchWorker: (...args: Parameters<Store['touchWorker']>) => {
        touches.push(args[0].id);
        return store.touchWorker(...args);
      },
    });
    server = await startServer({ store: watched, root: REPO_ROOT, port: 0, adminToken: TEST_TOKEN, restartGraceMs: 0 });
  });
  afterAll(async () => {
    await server?.close();
    await store?.close();
  });

  it('writes different jobs’ events of one report side by side, each job’s in its order', async () => {
    const submit = async (word: string) => (await call(`/api/w/default/jobs/run/p/${SAY}`, { word })).text;
    [slow, fast] = [await submit('slow'), await submit('fast')];
    const jobs = await claim('w-report', ['default'], 2);
    expect(jobs.map((j) => j.id).sort()).toEqual([slow, fast].sort());
    const attempt = (id: string) => jobs.find((j) => j.id === id)!.attempt;
    const at = Date.now();
    const events = [slow, fast].flatMap((id) => [
      { type: 'started', job_id: id, attempt: attempt(id), at },
      { type: 'logs', job_id: id, attempt: attempt(id), lines: [{ ts: at, stream: 'stdout', line: `${id} ran` }] },
      { type: 'finish', job_id: id, attempt: attempt(id), outcome: { status: 'success', result: id }, at: at + 1 },
    ]);
    // In a row, the slow job's start would wait for the fast job's end, which would never come.
    const res = await call('/api/w/default/worker/report', { worker_id: 'w-report', events });
    expect(res).toMatchObject({ status: 200, json: { rejected: [] } });
    for (const id of [slow, fast]) {
      expect(await store.get(id)).toMatchObject({ status: 'success', result: id, startedAt: at, completedAt: at + 1 });
      expect((await store.readLogs(id)).map((l) => l.line)).toEqual([`${id} ran`]);
    }
  });

  it('records a start sent with the end (started_at), and refuses one that is not a time', async () => {
    const submit = async (word: string) => (await call(`/api/w/default/jobs/run/p/${SAY}`, { word })).text;
    const [a, b] = [await submit('a'), await submit('b')];
    const jobs = await claim('w-held', ['default'], 2);
    const attempt = (id: string) => jobs.find((j) => j.id === id)!.attempt;
    const finish = (id: string, startedAt: unknown) => ({
      type: 'finish',
      job_id: id,
      attempt: attempt(id),
      outcome: { status: 'success', result: id },
      at: 2_000,
      started_at: startedAt,
    });
    const res = await call('/api/w/default/worker/report', {
      worker_id: 'w-held',
      events: [finish(a, 1_990), finish(b, 'soon')],
    });
    expect(res.json.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'BAD_REQUEST'],
    ]);
    expect(res.json.rejected[0].message).toMatch(
      /body\.events\[1\]\.started_at: expected an integer .*got string "soon"/,
    );
    expect(await store.get(a)).toMatchObject({
      status: 'success',
      startedAt: 1_990,
      completedAt: 2_000,
      durationMs: 10,
    });
    expect((await store.attempts(a))[0]).toMatchObject({ startedAt: 1_990, completedAt: 2_000 });
    expect(await store.get(b)).toMatchObject({ status: 'running', startedAt: null });
  });

  it('refuses a report’s bad events by index, in order, and writes the rest', async () => {
    const id = (await call(`/api/w/default/jobs/run/p/${SAY}`, { word: 'mixed' })).text;
    const [job] = await claim('w-mixed', ['default'], 1);
    const res = await call('/api/w/default/worker/report', {
      worker_id: 'w-mixed',
      events: [
        { type: 'started', job_id: 'nosuchjob', attempt: 1, at: 1 },
        { type: 'started', job_id: id, attempt: job.attempt, at: 5 },
        7,
        { type: 'finish', job_id: id, attempt: job.attempt, outcome: { status: 'success', result: 1 }, at: 6 },
        { type: 'started', job_id: id, attempt: job.attempt, at: 7 },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.json.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [0, 'UNKNOWN_JOB'],
      [1, 'LEASE_NOT_HELD'],
      [2, 'BAD_REQUEST'],
      [3, 'LEASE_NOT_HELD'],
      [4, 'LEASE_NOT_HELD'],
    ]);
    expect(res.json.rejected[4].message).toMatch(/has an event after its end in this report/);
    expect(await store.get(id)).toMatchObject({ status: 'running', startedAt: null });
  });

  it('writes a worker’s sighting once a second while its name, workspace and tags stay as they were', async () => {
    touches.length = 0;
    for (let i = 0; i < 5; i++) await claim('w-seen', ['nothing-here'], 1);
    expect(touches).toEqual(['w-seen']);
    await claim('w-seen', ['other-tag'], 1);
    expect(touches).toEqual(['w-seen', 'w-seen']);
    const listed = (await store.listWorkers('default', 0)).find((w) => w.id === 'w-seen');
    expect(listed?.tags).toEqual(['other-tag']);

    // The interval, on a clock moved by hand.
    const written: number[] = [];
    const sightings = new WorkerSightings({
      touchWorker: async (_w, now) => void written.push(now),
    });
    const worker = { id: 'w', workspace: 'default', tags: ['a'], hostname: 'h' };
    for (const now of [1_000, 1_500, 1_000 + SIGHTING_WRITE_MS - 1, 1_000 + SIGHTING_WRITE_MS, 2_100]) {
      await sightings.seen(worker, now);
    }
    expect(written).toEqual([1_000, 1_000 + SIGHTING_WRITE_MS]);
    await sightings.seen({ ...worker, hostname: 'h2' }, 2_200);
    await sightings.seen({ ...worker, hostname: 'h2' }, 500); // a clock set back writes
    expect(written).toEqual([1_000, 1_000 + SIGHTING_WRITE_MS, 2_200, 500]);
  });
});
