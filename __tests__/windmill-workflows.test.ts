import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { JobRecord, LogLine } from '../lib/types.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';
import { runToEnd, startMillrace } from './helpers/processes.js';
import { approveThrough } from './helpers/windmill-guide.js';

/**
 * Windmill's workflow-as-code scripts (fixtures under __tests__/fixtures/windmill, Windmill's
 * documented examples) run unchanged by `millrace run`, on the embedded engine: the result,
 * a child job per task, the children's lines in the root's log, and durability across kill -9.
 */

const FIXTURES = '__tests__/fixtures/windmill';
const BIN = join(REPO_ROOT, 'bin/millrace.js');
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function runsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'millrace-wac-')), 'runs.txt');
  writeFileSync(file, '');
  return file;
}
const runsOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

interface Ran {
  code: number | null;
  result: unknown;
  root: JobRecord;
  children: JobRecord[];
  log: LogLine[];
  stderr: string;
}

/** `millrace run <fixture> --args …` to its end, then the run as the store recorded it. */
async function run(fixture: string, args: Record<string, unknown>, db = tempDb()): Promise<Ran> {
  const out = await runToEnd(
    process.execPath,
    [BIN, 'run', '--db', db, `${FIXTURES}/${fixture}`, '--args', JSON.stringify(args)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    },
  );
  return {
    ...(await recorded(db, out.stderr)),
    code: out.code,
    result: out.stdout ? JSON.parse(out.stdout) : undefined,
  };
}

async function recorded(db: string, stderr: string): Promise<Omit<Ran, 'code' | 'result'>> {
  const id = /job (\w{20})/.exec(stderr)![1];
  const engine = new EmbeddedEngine({ root: REPO_ROOT, db, worker: false });
  try {
    const root = (await engine.get(id))!;
    const children = (await engine.descendants(id)).filter((j) => j.id !== id);
    const log: LogLine[] = [];
    for await (const line of engine.logs(id)) log.push(line);
    return { root, children, log, stderr };
  } finally {
    await engine.close();
  }
}

/** The lines of the root's log that came from `child`, forwarded by the store. */
const linesFrom = (log: LogLine[], child: JobRecord) =>
  log.filter((l) => l.source?.jobId === child.id).map((l) => l.line);

describe('Windmill workflows under millrace run', () => {
  it('runs a Promise.all fan-out: one child job per task, their lines in the root log, each body once', async () => {
    const runs = runsFile();
    const ran = await run('fan-out', { x: 'hi', runs });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ result: ['processed: hi-a', 'processed: hi-b'] });
    const tasks = ran.children.filter((j) => j.entrypoint === 'processItem');
    expect(tasks).toHaveLength(2);
    for (const t of tasks) expect(t).toMatchObject({ kind: 'script', status: 'success', parentJob: ran.root.id });
    expect(tasks.flatMap((t) => linesFrom(ran.log, t)).sort()).toEqual(['processing hi-a', 'processing hi-b']);
    expect(runsOf(runs).sort()).toEqual(['processItem hi-a', 'processItem hi-b']);
  });

  it("runs the docs' first example verbatim (task(hello) in a plain main): each call a job", async () => {
    const ran = await run('hello', {});
    expect(ran.code).toBe(0);
    expect(ran.result).toBe('Hello:FOO');
    const calls = ran.children.filter((j) => j.entrypoint === 'hello');
    expect(calls.map((j) => j.result).sort()).toEqual(['Hello:BAR', 'Hello:FOO']);
  });

  it('records a step with a timestamp once: every later round and the task see the same value', async () => {
    const runs = runsFile();
    const ran = await run('step-timestamp', { runs });
    expect(ran.code).toBe(0);
    const result = ran.result as { startedAt: string; recorded: string };
    expect(result.recorded).toBe(`started at ${result.startedAt}`);
    const step = ran.children.find((j) => j.kind === 'step')!;
    expect(step).toMatchObject({ entrypoint: 'started_at', status: 'success' });
    const record = ran.children.find((j) => j.entrypoint === 'record')!;
    expect(linesFrom(ran.log, record)).toEqual([`recording ${result.startedAt}`]);
    expect(runsOf(runs)).toEqual(['record']);
  });

  it('sleeps durably: a sleep child between the two tasks', async () => {
    const runs = runsFile();
    const ran = await run('sleep', { runs });
    expect(ran.code).toBe(0);
    expect((ran.result as { sleptMs: number }).sleptMs).toBeGreaterThanOrEqual(1000);
    const kinds = [...ran.children].sort((a, b) => a.createdAt - b.createdAt).map((j) => `${j.kind} ${j.entrypoint}`);
    expect(kinds).toEqual(['script before', 'sleep sleep', 'script after']);
    expect(runsOf(runs)).toEqual(['before', 'after']);
  });

  it('runs taskScript and taskFlow by path', async () => {
    const ran = await run('script-and-flow', { url: 'http://x' });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ data: { rows: [8, 2, 3] }, output: 13 });
    const script = ran.children.find((j) => j.kind === 'script')!;
    expect(script).toMatchObject({ scriptPath: `${FIXTURES}/f/data/extract`, parentJob: ran.root.id });
    expect(ran.children.find((j) => j.kind === 'flow')).toMatchObject({ scriptPath: `${FIXTURES}/f/etl/pipeline` });
    expect(linesFrom(ran.log, script)).toEqual(['extracting http://x']);
    expect(ran.log.map((l) => l.line)).toContain('summing 3 rows');
  });

  it("hands a failed task to the workflow's catch as Windmill's TaskError", async () => {
    const runs = runsFile();
    const ran = await run('caught', { amount: 5, runs });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ charged: false, name: 'TaskError', message: 'card declined for 5', step: 'charge' });
    expect(ran.children.find((j) => j.entrypoint === 'charge')).toMatchObject({ status: 'failure' });
    expect(runsOf(runs)).toEqual(['charge']);
  });

  // Each round is a Node process start (about a second, more on a loaded machine): these make 4 to 9.
  it('retries a task as Windmill counts it: attempts 2 is three runs, each a job', async () => {
    const runs = runsFile();
    const ran = await run('retried', { runs });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ orders: 3, tries: 3 });
    const tries = ran.children.filter((j) => j.entrypoint === 'fetchOrders');
    expect(tries.map((j) => j.status).sort()).toEqual(['failure', 'failure', 'success']);
    expect(runsOf(runs)).toEqual(['fetchOrders', 'fetchOrders', 'fetchOrders']);
  }, 180_000);

  it('runs parallel() with a concurrency in batches', async () => {
    const runs = runsFile();
    const ran = await run('parallel', { items: [1, 2, 3, 4, 5], runs });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual([2, 4, 6, 8, 10]);
    const doubles = ran.children.filter((j) => j.entrypoint === 'double');
    expect(doubles).toHaveLength(5);
    // Two at a time: the third batch's one task is created after the first two batches' four ended.
    const byCreation = [...doubles].sort((a, b) => a.createdAt - b.createdAt);
    expect(byCreation[4].createdAt).toBeGreaterThanOrEqual(
      Math.max(...byCreation.slice(0, 4).map((j) => j.completedAt!)),
    );
    expect(byCreation[2].createdAt).toBeGreaterThanOrEqual(
      Math.max(...byCreation.slice(0, 2).map((j) => j.completedAt!)),
    );
  }, 180_000);

  it("maps Windmill's task options onto millrace's: timeout, tag, priority, concurrency, cache", async () => {
    const runs = runsFile();
    const ran = await run('options', { customerId: 'c1', runs });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual([
      { id: 'c1', tier: 'gold' },
      { id: 'c1', tier: 'gold' },
    ]);
    const [first, again] = ran.children
      .filter((j) => j.entrypoint === 'enrich')
      .sort((a, b) => a.createdAt - b.createdAt);
    expect(first).toMatchObject({
      tag: 'etl',
      timeout: 600,
      priority: 5,
      flowControl: {
        priority: 5,
        concurrency: { key: 'enrich', limit: 2, windowMs: 10_000 },
        cacheTtlMs: 3_600_000,
      },
    });
    // The second call, same args, is the first's result from the cache: the body ran once.
    expect(again.cachedFrom).toBe(first.id);
    expect(runsOf(runs)).toEqual(['enrich c1']);
  }, 180_000);

  it("answers the SDK's job context in a task (setProgress, getRootJobId), and `show` lists the tasks as children", async () => {
    const db = tempDb();
    const ran = await run('context', { label: 'x' }, db);
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ label: 'x', root: ran.root.id });
    const report = ran.children.find((j) => j.entrypoint === 'report')!;
    const engine = new EmbeddedEngine({ root: REPO_ROOT, db, worker: false });
    try {
      expect((await engine.progress(ran.root.id))[report.id]).toMatchObject({ percent: 50 });
    } finally {
      await engine.close();
    }
    const show = await runToEnd(process.execPath, [BIN, 'show', '--db', db, ran.root.id], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(show.stdout).toMatch(new RegExp(`└─ ✔ report +${report.id.slice(0, 8)}`));
  });

  it("reads the job's own progress back through the SDK: null before, the percent it set after", async () => {
    const ran = await run('progress', { percent: 37 });
    expect(ran.code).toBe(0);
    expect(ran.result).toEqual({ before: null, after: 37 });
  });

  it('refuses a task option millrace does not support, by name, before any job exists', async () => {
    const db = tempDb();
    const out = await runToEnd(process.execPath, [BIN, 'run', '--db', db, `${FIXTURES}/bad-option`, '--n', '1'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('option "retries" is not supported');
    expect(out.stderr).not.toMatch(/job \w{20}/);
  });

  it('resumes waitForApproval through the URL from getApprovalUrls, which the job itself answers', async () => {
    const db = tempDb();
    const proc = startMillrace(['run', '--db', db, `${FIXTURES}/approval`]);
    cleanups.push(() => proc.kill('SIGKILL'));
    const [, resume] = await proc.waitFor(/approve: (\S+)/);
    const [, reject] = await proc.waitFor(/reject: (\S+)/);
    // Before the workflow waits, the URL is refused; an altered one always is.
    await proc.waitFor(/WAC: approval\(manager\)/);
    const altered = await request(
      resume.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
      { method: 'POST' },
    );
    expect(altered.statusCode).toBe(401);
    await altered.body.text();
    await approveThrough(resume, 'alice', { ok: true });
    const code = await proc.exited;
    expect(code).toBe(0);
    expect(JSON.parse(proc.output().slice(proc.output().lastIndexOf('\n{')))).toEqual({
      approved: true,
      approver: 'alice',
      value: { ok: true },
    });
    // The job has ended: nothing listens on its port any more.
    await expect(request(reject, { method: 'POST' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('cancels a workflow mid-run: its tasks are canceled and their round processes end', async () => {
    const held: ServerResponse[] = [];
    const gate = createServer((_req, res) => held.push(res));
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (gate.closeAllConnections(), gate.close(() => r()))));
    const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
    const runs = runsFile();
    const db = tempDb();
    const proc = startMillrace([
      'run',
      '--db',
      db,
      `${FIXTURES}/durable`,
      '--args',
      JSON.stringify({ gate: url, runs }),
    ]);
    cleanups.push(() => proc.kill('SIGKILL'));
    const [, roundPid] = await proc.waitFor(/second waits, pid (\d+)/);
    const id = /job (\w{20})/.exec(proc.output())![1];
    const canceled = await runToEnd(process.execPath, [BIN, 'cancel', '--db', db, id], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(canceled.code).toBe(0);
    expect(await proc.exited).not.toBe(0);
    await waitForExit(Number(roundPid));
    const { root, children } = await recorded(db, proc.output());
    expect(root.status).toBe('canceled');
    expect(children.find((j) => j.entrypoint === 'second')).toMatchObject({ status: 'canceled' });
    expect(runsOf(runs)).toEqual(['first']);
  }, 180_000);

  it('after kill -9 of `millrace run` mid-run, `millrace resume` never runs a finished task body again', async () => {
    const held: ServerResponse[] = [];
    let open = false;
    const gate = createServer((_req, res) => (open ? res.end('open') : held.push(res)));
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => (gate.closeAllConnections(), gate.close(() => r()))));
    const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
    const runs = runsFile();
    const db = tempDb();
    const first = startMillrace([
      'run',
      '--db',
      db,
      `${FIXTURES}/durable`,
      '--args',
      JSON.stringify({ gate: url, runs }),
    ]);
    cleanups.push(() => first.kill('SIGKILL'));
    await first.waitFor(/second waits, pid (\d+)/);
    const [, roundPid] = /second waits, pid (\d+)/.exec(first.output())!;
    first.child.kill('SIGKILL');
    await first.exited;
    // The round's process sees its runner gone and ends: it does not finish the task behind its back.
    await waitForExit(Number(roundPid));
    expect(runsOf(runs)).toEqual(['first']);
    open = true;
    for (const res of held.splice(0)) res.end('open');
    const id = /job (\w{20})/.exec(first.output())![1];
    const resumed = await runToEnd(process.execPath, [BIN, 'resume', '--db', db, id], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(resumed.code).toBe(0);
    const result = JSON.parse(resumed.stdout) as { sum: number; startedAt: number };
    expect(result.sum).toBe(3);
    // The step taken before the kill is the value the replayed workflow saw (a step never runs twice).
    const { children } = await recorded(db, first.output());
    const steps = children.filter((j) => j.kind === 'step');
    expect(steps).toHaveLength(1);
    expect(result.startedAt).toBe(steps[0].result);
    expect(runsOf(runs)).toEqual(['first', 'second']);
  }, 180_000);
});

/** Resolves once process `pid` has ended (it is not ours to wait on, so its existence is polled). */
async function waitForExit(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
