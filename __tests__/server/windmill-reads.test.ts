import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import * as wmill from 'windmill-client';
import { tempDb } from '../helpers/engine.js';
import { freshSchema, testPgUrl } from '../helpers/pg.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

const { JobService } = wmill;
const workspace = 'default';
const ANSI_HINT = "to remove ansi colors, use: | sed 's/\\x1B\\[[0-9;]\\{1,\\}[A-Za-z]//g'\n";

/** The keys of a row of jobs/queue/list (Windmill's ListableQueuedJob, less what millrace does not record). */
const QUEUED_KEYS = [
  'args',
  'created_at',
  'id',
  'is_flow_step',
  'job_kind',
  'millrace',
  'priority',
  'running',
  'scheduled_for',
  'script_hash',
  'script_path',
  'started_at',
  'tag',
  'workspace_id',
];
/** The keys of a row of jobs/completed/list for a root that succeeded (Windmill's ListableCompletedJob). */
const COMPLETED_KEYS = [
  'canceled',
  'created_at',
  'deleted',
  'duration_ms',
  'id',
  'is_flow_step',
  'is_skipped',
  'job_kind',
  'millrace',
  'priority',
  'script_hash',
  'script_path',
  'started_at',
  'success',
  'tag',
  'type',
  'workspace_id',
];

const sorted = (o: object) => Object.keys(o).sort();
const ids = (rows: { id: string }[]) => rows.map((r) => r.id);

/** What windmill-client throws for an answer of 400 and over: its status and our `{error: {code, message}}` body. */
function refusal(status: number, code: string, message: RegExp) {
  return { status, body: { error: { code, message: expect.stringMatching(message) } } };
}

/** A fresh database of each store for the server: a SQLite file, or a PostgreSQL database dropped at the end. */
const stores: [string, () => Promise<{ db: string; drop: () => Promise<void> }>][] = [
  ['sqlite', async () => ({ db: tempDb(), drop: async () => {} })],
  [
    'postgres',
    async () => {
      const admin = new pg.Client({ connectionString: testPgUrl() });
      await admin.connect();
      const name = freshSchema('mr');
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(testPgUrl());
      url.pathname = `/${name}`;
      return {
        db: url.toString(),
        drop: async () => {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
          await admin.end();
        },
      };
    },
  ],
];

/** windmill-client's JobService reads (getJobLogs, getJobArgs, getCompletedJob, the listings, force_cancel, getRootJobId) against a millrace server, on each store. */
describe.each(stores)('windmill-client JobService reads against millrace (%s)', (_store, makeDb) => {
  let database: { db: string; drop: () => Promise<void> };
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  // Jobs that ran to the end, made once: two successes and a failure of the listed fixture.
  let first: string;
  let second: string;
  let failed: string;
  let children: string[];
  // Jobs with a tag no worker serves: they stay queued until canceled.
  const parked: string[] = [];

  const run = (args: { n: number; label: string }, tag?: string) =>
    JobService.runScriptByPath({ workspace, path: '__tests__/fixtures/listed', requestBody: args, tag });

  beforeAll(async () => {
    database = await makeDb();
    server = await startServerProcess([], database.db);
    worker = await startWorkerProcess(server.url, ['--tag', 'default']);
    wmill.setClient(TEST_TOKEN, server.url);
    process.env.WM_WORKSPACE = workspace;
    first = await run({ n: 2, label: 'first' });
    await wmill.waitJob(first);
    second = await run({ n: 1, label: 'second' });
    await wmill.waitJob(second);
    failed = await run({ n: 0, label: 'fail' });
    await expect(wmill.waitJob(failed)).rejects.toThrow(/failing on purpose/);
    for (const label of ['p1', 'p2', 'p3']) parked.push(await run({ n: 1, label }, 'nobody'));
    const rows = await JobService.listCompletedJobs({ workspace, parentJob: first, orderDesc: false });
    children = ids(rows);
  });
  afterAll(async () => {
    await worker?.proc.kill();
    await server?.proc.kill();
    await database?.drop();
  });

  it('getJobLogs: the whole log as text, after Windmill’s ANSI hint unless removeAnsiWarnings', async () => {
    const logs = await JobService.getJobLogs({ workspace, id: first });
    expect(logs.startsWith(ANSI_HINT)).toBe(true);
    const text = logs.slice(ANSI_HINT.length);
    const lines = text.trim().split('\n');
    expect(lines[0]).toBe('listing first');
    // Each child's line, marked with its name and short id, in whichever order the children ran.
    expect(lines.slice(1).every((l) => /^\[part [0-9a-z]{8}\] part \d$/.test(l))).toBe(true);
    expect(
      lines
        .slice(1)
        .map((l) => l.slice(-6))
        .sort(),
    ).toEqual(['part 0', 'part 1']);
    expect(await JobService.getJobLogs({ workspace, id: first, removeAnsiWarnings: true })).toBe(text);
    // The same text jobs_u/get gives.
    expect((await JobService.getJob({ workspace, id: first })).logs).toBe(text);
    // A child's own log.
    expect(await JobService.getJobLogs({ workspace, id: children[0], removeAnsiWarnings: true })).toBe('part 0\n');
    // A queued job has an empty log.
    expect(await JobService.getJobLogs({ workspace, id: parked[0] })).toBe(ANSI_HINT);
  });

  it('getJobLogs of a log longer than a page of the store: every line, in order', async () => {
    const id = await JobService.runScriptByPath({
      workspace,
      path: '__tests__/fixtures/many-lines',
      requestBody: { lines: 25_000 },
    });
    await wmill.waitJob(id);
    const lines = (await JobService.getJobLogs({ workspace, id, removeAnsiWarnings: true })).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.length).toBe(25_000);
    expect(lines.every((line, i) => line === `line ${i}`)).toBe(true);
  });

  it('getJobArgs: the args as given; a task child’s positional args', async () => {
    expect(await JobService.getJobArgs({ workspace, id: first })).toEqual({ n: 2, label: 'first' });
    expect(await JobService.getJobArgs({ workspace, id: parked[1] })).toEqual({ n: 1, label: 'p2' });
    expect(await JobService.getJobArgs({ workspace, id: children[1] })).toEqual([1]);
  });

  it('getCompletedJob: a finished job with its result; one not finished is 404 as on Windmill', async () => {
    const job = await JobService.getCompletedJob({ workspace, id: first });
    expect(job).toMatchObject({
      type: 'CompletedJob',
      id: first,
      workspace_id: workspace,
      script_path: '__tests__/fixtures/listed',
      job_kind: 'script',
      success: true,
      canceled: false,
      deleted: false,
      is_skipped: false,
      is_flow_step: false,
      result: [0, 2],
      args: { n: 2, label: 'first' },
      tag: 'default',
    });
    expect(Date.parse(job.completed_at!)).toBeGreaterThanOrEqual(Date.parse(job.started_at));
    expect(job.duration_ms).toBeGreaterThanOrEqual(0);
    expect(job.logs).toBe(await JobService.getJobLogs({ workspace, id: first, removeAnsiWarnings: true }));
    expect(Object.keys(job.workflow_as_code_status ?? {}).sort()).toEqual([...children].sort());

    const bad = await JobService.getCompletedJob({ workspace, id: failed });
    expect(bad).toMatchObject({ success: false, canceled: false });
    expect(bad.result).toMatchObject({ error: { name: 'Error', message: 'failing on purpose: fail' } });

    await expect(JobService.getCompletedJob({ workspace, id: parked[0] })).rejects.toMatchObject(
      refusal(404, 'NOT_COMPLETED', new RegExp(`Job ${parked[0]} has not completed yet \\(it is queued\\)`)),
    );
  });

  it('getRootJobId: a child’s root, a root’s own id (JobService and the SDK’s getRootJobId)', async () => {
    expect(await JobService.getRootJobId({ workspace, id: children[0] })).toBe(first);
    expect(await JobService.getRootJobId({ workspace, id: first })).toBe(first);
    expect(await wmill.getRootJobId(children[1])).toBe(first);
  });

  it('listQueue: queued jobs in Windmill’s row shape, newest first, paged; args only with include_args', async () => {
    const rows = await JobService.listQueue({ workspace, tag: 'nobody' });
    expect(ids(rows)).toEqual([...parked].reverse());
    for (const row of rows) {
      expect(sorted(row)).toEqual(QUEUED_KEYS);
      expect(row).toMatchObject({
        running: false,
        started_at: null,
        args: null,
        job_kind: 'script',
        is_flow_step: false,
        tag: 'nobody',
        priority: 0,
        workspace_id: workspace,
        script_path: '__tests__/fixtures/listed',
        millrace: { kind: 'script', status: 'queued', entrypoint: 'main' },
      });
    }
    expect(ids(await JobService.listQueue({ workspace, tag: 'nobody', orderDesc: false }))).toEqual(parked);
    expect(ids(await JobService.listQueue({ workspace, tag: 'nobody', perPage: 2 }))).toEqual(
      [...parked].reverse().slice(0, 2),
    );
    expect(ids(await JobService.listQueue({ workspace, tag: 'nobody', perPage: 2, page: 2 }))).toEqual([parked[0]]);
    expect(await JobService.listQueue({ workspace, tag: 'nobody', perPage: 2, page: 3 })).toEqual([]);
    expect(ids(await JobService.listQueue({ workspace, tag: 'nobody', running: false }))).toHaveLength(3);
    expect(await JobService.listQueue({ workspace, tag: 'nobody', running: true })).toEqual([]);
    // Finished jobs are not in the queue.
    expect(ids(await JobService.listQueue({ workspace, scriptPathExact: '__tests__/fixtures/listed' })).sort()).toEqual(
      [...parked].sort(),
    );
    const withArgs = await wmillGet<{ args: unknown }[]>(
      `/jobs/queue/list?tag=nobody&order_desc=false&include_args=true`,
    );
    expect(withArgs.map((r) => r.args)).toEqual([
      { n: 1, label: 'p1' },
      { n: 1, label: 'p2' },
      { n: 1, label: 'p3' },
    ]);
  });

  it('listQueue running=true: a running parent and its running child', async () => {
    const { url, arrived, release, close } = await holdServer();
    try {
      const held = await JobService.runScriptByPath({
        workspace,
        path: '__tests__/fixtures/hold',
        requestBody: { url },
      });
      await arrived;
      // `millrace` is millrace's own field of each row, unknown to windmill-client's types.
      const running = (await JobService.listQueue({ workspace, running: true })) as unknown as {
        id: string;
        script_path?: string;
        running: boolean;
        millrace: { entrypoint: string };
      }[];
      expect(running.map((r) => [r.script_path, r.running, r.millrace.entrypoint])).toEqual([
        ['__tests__/fixtures/hold', true, 'hold'],
        ['__tests__/fixtures/hold', true, 'main'],
      ]);
      expect(running[1].id).toBe(held);
      expect(ids(await JobService.listQueue({ workspace, parentJob: held }))).toEqual([running[0].id]);
      // windmill-client's listQueue does not pass has_null_parent; Windmill's server honours it, and so does millrace.
      expect(ids(await wmillGet<{ id: string }[]>('/jobs/queue/list?has_null_parent=true&running=true'))).toEqual([
        held,
      ]);
      release();
      await wmill.waitJob(held);
    } finally {
      release(); // a failed expectation must not leave the request open: close waits for it
      await close();
    }
  });

  it('listCompletedJobs: finished jobs in Windmill’s row shape, by success, status, parent, root and page', async () => {
    const path = '__tests__/fixtures/listed';
    const rows = await JobService.listCompletedJobs({ workspace, scriptPathExact: path, hasNullParent: true });
    expect(ids(rows)).toEqual([failed, second, first]);
    expect(sorted(rows[2])).toEqual(COMPLETED_KEYS);
    expect(rows[2]).toMatchObject({
      type: 'CompletedJob',
      success: true,
      canceled: false,
      deleted: false,
      is_skipped: false,
      job_kind: 'script',
      millrace: { status: 'success' },
    });
    expect(rows[0]).toMatchObject({ success: false, millrace: { status: 'failure' } });
    const child = (await JobService.listCompletedJobs({ workspace, parentJob: first, orderDesc: false }))[0];
    expect(sorted(child)).toEqual([...COMPLETED_KEYS, 'parent_job'].sort());
    expect(child).toMatchObject({ id: children[0], parent_job: first, millrace: { kind: 'task', entrypoint: 'part' } });

    const roots = { workspace, scriptPathExact: path, hasNullParent: true };
    expect(ids(await JobService.listCompletedJobs({ ...roots, success: true }))).toEqual([second, first]);
    expect(ids(await JobService.listCompletedJobs({ ...roots, success: false }))).toEqual([failed]);
    expect(ids(await JobService.listCompletedJobs({ ...roots, status: 'failure' }))).toEqual([failed]);
    expect(await JobService.listCompletedJobs({ ...roots, status: 'canceled' })).toEqual([]);
    expect(await JobService.listCompletedJobs({ ...roots, status: 'skipped' })).toEqual([]);
    expect(await JobService.listCompletedJobs({ ...roots, success: true, status: 'failure' })).toEqual([]);
    expect(await JobService.listCompletedJobs({ ...roots, isSkipped: true })).toEqual([]);
    expect(ids(await JobService.listCompletedJobs({ ...roots, isSkipped: false }))).toHaveLength(3);
    expect(ids(await JobService.listCompletedJobs({ ...roots, orderDesc: false }))).toEqual([first, second, failed]);
    expect(ids(await JobService.listCompletedJobs({ ...roots, perPage: 2, page: 2 }))).toEqual([first]);
    expect(ids(await JobService.listCompletedJobs({ ...roots, perPage: 1, page: 2, orderDesc: false }))).toEqual([
      second,
    ]);
    // The children of the three runs: three parts, each its own job.
    expect(
      (await JobService.listCompletedJobs({ workspace, scriptPathExact: path })).filter((r) => r.parent_job),
    ).toHaveLength(3);
    const withArgs = await wmillGet<{ id: string; args: unknown }[]>(
      `/jobs/completed/list?parent_job=${first}&order_desc=false&include_args=true`,
    );
    expect(withArgs.map((r) => r.args)).toEqual([[0], [1]]);
  });

  it('forceCancelQueuedJob: cancels at once and answers the id; a finished job answers Windmill’s sentence', async () => {
    const id = parked[2];
    expect(await JobService.forceCancelQueuedJob({ workspace, id, requestBody: { reason: 'no worker' } })).toBe(id);
    const job = await JobService.getCompletedJob({ workspace, id });
    expect(job).toMatchObject({ canceled: true, canceled_reason: 'no worker', success: false });
    expect(job.canceled_by).toBe('MILLRACE_TOKEN');
    const row = (await JobService.listCompletedJobs({ workspace, tag: 'nobody' }))[0];
    expect(row).toMatchObject({ id, canceled: true, canceled_reason: 'no worker', canceled_by: 'MILLRACE_TOKEN' });
    expect(row.started_at).toBeNull();
    expect(ids(await JobService.listQueue({ workspace, tag: 'nobody' }))).toEqual([parked[1], parked[0]]);
    expect(await JobService.forceCancelQueuedJob({ workspace, id, requestBody: {} })).toBe(
      `queued job id ${id} is already completed`,
    );
    expect(await JobService.forceCancelQueuedJob({ workspace, id: first, requestBody: {} })).toBe(
      `queued job id ${first} is already completed`,
    );
    // Without a reason: the reason says how it was canceled.
    expect(await JobService.forceCancelQueuedJob({ workspace, id: parked[1], requestBody: {} })).toBe(parked[1]);
    expect(await JobService.getCompletedJob({ workspace, id: parked[1] })).toMatchObject({
      canceled: true,
      canceled_reason: 'force canceled',
    });
  });

  it('forceCancelQueuedJob of a running job: it and its running child are canceled at once', async () => {
    const { url, arrived, release, close } = await holdServer();
    try {
      const held = await JobService.runScriptByPath({
        workspace,
        path: '__tests__/fixtures/hold',
        requestBody: { url },
      });
      await arrived;
      expect(await JobService.forceCancelQueuedJob({ workspace, id: held, requestBody: { reason: 'stuck' } })).toBe(
        held,
      );
      // Recorded at once: nothing waits for the worker to stop the code.
      expect(await JobService.getCompletedJob({ workspace, id: held })).toMatchObject({
        canceled: true,
        canceled_reason: 'stuck',
        success: false,
      });
      const [child] = await JobService.listCompletedJobs({ workspace, parentJob: held });
      expect(child).toMatchObject({ canceled: true, success: false, millrace: { entrypoint: 'hold' } });
      expect(await JobService.listQueue({ workspace, parentJob: held })).toEqual([]);
    } finally {
      release();
      await close();
    }
  });

  it('a job unknown, or of another workspace, is 404 on every route', async () => {
    const calls: [string, (ws: string, id: string) => Promise<unknown>][] = [
      ['getJobLogs', (ws, id) => JobService.getJobLogs({ workspace: ws, id })],
      ['getJobArgs', (ws, id) => JobService.getJobArgs({ workspace: ws, id })],
      ['getCompletedJob', (ws, id) => JobService.getCompletedJob({ workspace: ws, id })],
      ['getRootJobId', (ws, id) => JobService.getRootJobId({ workspace: ws, id })],
      ['forceCancelQueuedJob', (ws, id) => JobService.forceCancelQueuedJob({ workspace: ws, id, requestBody: {} })],
    ];
    for (const [, call] of calls) {
      await expect(call('other', first)).rejects.toMatchObject(
        refusal(404, 'UNKNOWN_JOB', new RegExp(`No job with id "${first}" in workspace other`)),
      );
      await expect(call(workspace, 'nosuchjob')).rejects.toMatchObject(
        refusal(404, 'UNKNOWN_JOB', /No job with id "nosuchjob" in workspace default/),
      );
    }
    // Listings are of one workspace: another's is empty.
    expect(await JobService.listCompletedJobs({ workspace: 'other' })).toEqual([]);
    expect(await JobService.listQueue({ workspace: 'other' })).toEqual([]);
  });

  it('a filter millrace cannot honour is a 400 naming it, never ignored; bad values are 400s', async () => {
    await expect(JobService.listQueue({ workspace, success: true })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query success: queued and running jobs have no outcome yet/),
    );
    await expect(JobService.listCompletedJobs({ workspace, createdBy: 'alice' })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query created_by: millrace records no job creator/),
    );
    await expect(JobService.listCompletedJobs({ workspace, jobKinds: 'script' })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query job_kinds: not supported/),
    );
    await expect(JobService.listQueue({ workspace, worker: 'w1' })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query worker: not supported/),
    );
    await expect(JobService.listQueue({ workspace, allWorkspaces: true })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query all_workspaces: true is not supported/),
    );
    await expect(JobService.listCompletedJobs({ workspace, scriptPathExact: 'a,b' })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query script_path_exact: lists \(a,b\) and negations \(!a\)/),
    );
    await expect(JobService.listQueue({ workspace, tag: '!gpu' })).rejects.toMatchObject(
      refusal(400, 'UNSUPPORTED_FILTER', /^query tag: lists/),
    );
    await expect(wmillGet('/jobs/completed/list?running=false')).rejects.toThrow(
      /400 .*"UNSUPPORTED_FILTER".*query running/,
    );
    await expect(wmillGet('/jobs/queue/list?nonsense=1')).rejects.toThrow(
      /400 .*query nonsense: not a filter of jobs\/queue\/list \(millrace honours page, per_page/,
    );
    // Parameters at their default values are the same as absent ones.
    expect(
      ids(await JobService.listQueue({ workspace, tag: 'nobody', allWorkspaces: false, isNotSchedule: false })),
    ).toEqual([parked[0]]);
    await expect(JobService.listQueue({ workspace, perPage: 0 })).rejects.toMatchObject(
      refusal(400, 'BAD_REQUEST', /^query per_page: expected an integer from 1 to 10000, got "0"/),
    );
    await expect(JobService.listCompletedJobs({ workspace, page: 0 })).rejects.toMatchObject(
      refusal(400, 'BAD_REQUEST', /^query page: expected an integer from 1 to 1000000/),
    );
    await expect(
      JobService.listCompletedJobs({ workspace, status: 'done' as unknown as 'success' }),
    ).rejects.toMatchObject(
      refusal(400, 'BAD_REQUEST', /^query status: expected one of success, failure, canceled, skipped, got "done"/),
    );
    await expect(wmillGet('/jobs/completed/list?success=maybe')).rejects.toThrow(
      /400 .*query success: expected true or false, got \\"maybe\\"/,
    );
  });

  /** A GET of the workspace's API with the test token, for the query parameters windmill-client does not pass. */
  async function wmillGet<T>(path: string): Promise<T> {
    const res = await fetch(`${server.url}/api/w/${workspace}${path}`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`GET ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }
});

/** An HTTP server the hold fixture's task blocks on: `arrived` once it asked, `release` to answer it. */
async function holdServer(): Promise<{
  url: string;
  arrived: Promise<void>;
  release: () => void;
  close: () => Promise<void>;
}> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const http: Server = createServer((_req, res) => {
    arrive();
    void released.then(() => res.end('ok'));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    arrived,
    release,
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}
