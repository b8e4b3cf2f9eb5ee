import { afterEach, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { ApiClient } from '../lib/http/api-client.js';
import { resolveScript } from '../lib/loader/paths.js';
import { decode } from '../lib/serialize.js';
import { startServer, type ServerHandle } from '../lib/server/server.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { Store } from '../lib/store/store.js';
import type { JobRecord } from '../lib/types.js';
import { HttpBackend } from '../lib/worker/http-backend.js';
import { Worker } from '../lib/worker/worker.js';
import { openTestEngine, REPO_ROOT, tempDb } from './helpers/engine.js';

/**
 * A job that awaits a child frees its slot; when its worker serves the child's tag and wants a
 * job, the child is taken by that worker as it is recorded (Store.enqueue's claim), with no
 * claim between. The store's claims are watched: they hand out only what was not taken so.
 */

let engine: EmbeddedEngine | undefined;
const workers: Worker[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const c of cleanups.splice(0).reverse()) await c();
  await engine?.close();
  engine = undefined;
});

/** Which worker each job a claim handed out went to. */
function watchClaims(store: Store): Map<string, string> {
  const claimedBy = new Map<string, string>();
  const claim = store.claim.bind(store);
  store.claim = async (req) => {
    const jobs = await claim(req);
    for (const job of jobs) claimedBy.set(job.id, req.workerId);
    return jobs;
  };
  return claimedBy;
}

/** The sequence fixture's run, as this file's tests check it: five `next` taken, `elsewhere` claimed by w-other. */
async function expectTaken(
  read: { descendants(id: string): Promise<JobRecord[]>; attempts: Store['attempts'] },
  root: JobRecord,
  claimedBy: Map<string, string>,
): Promise<void> {
  expect(root.status).toBe('success');
  expect(decode(root.result!)).toBe(10);
  const children = await read.descendants(root.id);
  const nexts = children.filter((c) => c.entrypoint === 'next');
  expect(nexts).toHaveLength(5);
  // The root came through a claim; none of the five `next` calls did.
  expect(claimedBy.get(root.id)).toBe('w-default');
  for (const child of nexts) {
    expect(claimedBy.has(child.id)).toBe(false);
    expect(await read.attempts(child.id)).toMatchObject([{ attempt: 1, worker: 'w-default', status: 'success' }]);
  }
  // Its worker does not serve 'other': that child was queued and claimed by the worker that does.
  const [other] = children.filter((c) => c.entrypoint === 'elsewhere');
  expect(claimedBy.get(other.id)).toBe('w-other');
  expect(await read.attempts(other.id)).toMatchObject([{ attempt: 1, worker: 'w-other', status: 'success' }]);
}

function setup() {
  engine = openTestEngine({ worker: false });
  const claimedBy = watchClaims(engine.store);
  const worker = (id: string, tags: string[]) => {
    const w = new Worker({ backend: engine!.coordinator, root: REPO_ROOT, id, tags, threads: 1, concurrency: 2 });
    workers.push(w);
    return w;
  };
  return { engine, claimedBy, worker };
}

describe('children taken as they are recorded', () => {
  it("an awaited child of a tag its parent's worker serves runs there with no claim; one of another tag is claimed by its worker", async () => {
    const { engine, claimedBy, worker } = setup();
    worker('w-default', ['default']);
    worker('w-other', ['other']);
    const root = await engine.submit({ path: '__tests__/fixtures/sequence', args: { n: 5 } });
    await expectTaken(engine, await engine.wait(root.id), claimedBy);
    // Each child's lines still reach the root's log.
    const lines: string[] = [];
    for await (const l of engine.logs(root.id)) lines.push(l.line);
    for (let i = 0; i < 5; i++) expect(lines.some((l) => l.endsWith(`next ${i}`))).toBe(true);
  });

  it('through a server: the worker names the child it takes in its task call, and the reply hands it over', async () => {
    const store = new SqliteStore({ file: tempDb() });
    cleanups.push(() => store.close());
    const claimedBy = watchClaims(store);
    const server: ServerHandle = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN });
    cleanups.push(() => server.close());
    for (const [id, tags] of [
      ['w-default', ['default']],
      ['w-other', ['other']],
    ] as const) {
      const backend = new HttpBackend(new ApiClient({ server: server.url, token: TOKEN }), [...tags]);
      cleanups.push(() => backend.close());
      workers.push(new Worker({ backend, root: REPO_ROOT, id, tags: [...tags], threads: 1, concurrency: 2 }));
    }
    const root = await server.coordinator.submit(sequenceRoot(5));
    await expectTaken(store, await server.coordinator.waitFinished(root.id), claimedBy);
  });

  it('refuses a take_id that is not a job id, and one without the worker that takes it', async () => {
    const store = new SqliteStore({ file: tempDb() });
    cleanups.push(() => store.close());
    const server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN });
    cleanups.push(() => server.close());
    const parent = await server.coordinator.submit(sequenceRoot(1));
    const [claimed] = await store.claim({ workerId: 'w1', tags: 'all', limit: 1, leaseMs: 60_000 });
    expect(claimed.id).toBe(parent.id);
    const script = resolveScript(REPO_ROOT, '__tests__/fixtures/sequence');
    const call = async (body: Record<string, unknown>) => {
      const res = await request(`${server.url}/api/w/default/jobs/run/workflow_as_code/${parent.id}/next`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ script_path: script.path, script_hash: script.hash, ...body }),
      });
      return { status: res.statusCode, body: (await res.body.json()) as { error: { code: string; message: string } } };
    };
    expect(
      await call({
        worker_id: 'w1',
        parent_attempt: 1,
        calls: [{ args: [0], call_key: 'next:0', take_id: 'NOT-AN-ID' }],
      }),
    ).toEqual({
      status: 400,
      body: {
        error: {
          code: 'BAD_REQUEST',
          message: 'body.calls[0].take_id: expected a job id of 20 characters of 0-9 and a-z, got string "NOT-AN-ID"',
        },
      },
    });
    const noWorker = await call({ calls: [{ args: [0], call_key: 'next:0', take_id: 'a'.repeat(20) }] });
    expect(noWorker.status).toBe(400);
    expect(noWorker.body.error.message).toMatch(
      /^body\.calls\[0\]\.take_id: a child is taken by the worker that calls/,
    );
    // A child's end before it was recorded comes only with its take_id, and with its times.
    const caller = { worker_id: 'w1', parent_attempt: 1 };
    const endedAlone = await call({
      ...caller,
      calls: [{ args: [0], call_key: 'next:0', ended: { result: 1, at: 5 } }],
    });
    expect(endedAlone).toEqual({
      status: 400,
      body: {
        error: {
          code: 'BAD_REQUEST',
          message:
            "body.calls[0].ended: a child that ran before it was recorded is taken by the calling worker: the call's take_id is expected with it",
        },
      },
    });
    const take = { args: [0], call_key: 'next:0', take_id: 'a'.repeat(20) };
    const noTime = await call({ ...caller, calls: [{ ...take, ended: { result: 1, at: 'soon' } }] });
    expect(noTime.status).toBe(400);
    expect(noTime.body.error.message).toMatch(/^body\.calls\[0\]\.ended\.at: expected/);
    const noResult = await call({ ...caller, calls: [{ ...take, ended: { at: 5 } }] });
    expect(noResult.body.error.message).toBe(
      "body.calls[0].ended.result: expected the child's result (any JSON value), got nothing",
    );
    // Nothing was recorded for any.
    expect(await store.descendants(parent.id)).toEqual([]);
  });
});

const TOKEN = 'mr_taken_at_once_admin';

/** The sequence fixture's root job, `n` calls long. */
function sequenceRoot(n: number) {
  const script = resolveScript(REPO_ROOT, '__tests__/fixtures/sequence');
  return {
    kind: 'script' as const,
    scriptPath: script.path,
    scriptHash: script.hash,
    entrypoint: 'main',
    args: { n },
    tag: 'default',
    workspace: 'default',
  };
}
