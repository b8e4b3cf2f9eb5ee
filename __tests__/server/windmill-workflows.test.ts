import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import type { JobRecord, LogLine } from '../../lib/types.js';
import { REPO_ROOT } from '../helpers/engine.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';
import { guideExamples, inFileShape } from '../helpers/windmill-guide.js';

/**
 * Windmill's workflow-as-code scripts on a server with two workers (separate processes): the
 * result, a child job per task, the children's lines in the root's log, an approval resumed
 * through the URL getApprovalUrls gave, and kill -9 of the worker running the workflow.
 */

const FIXTURES = '__tests__/fixtures/windmill';
let server: { proc: Proc; url: string };
let workers: { proc: Proc; id: string }[];
let engine: HttpEngine;

beforeAll(async () => {
  server = await startServerProcess(['--sweep-ms', '200', '--restart-grace-ms', '0']);
  workers = await Promise.all(
    [0, 1].map(() => startWorkerProcess(server.url, ['--lease-ms', '3000', '--concurrency', '4'])),
  );
  engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
});
afterAll(async () => {
  await engine.close();
  for (const w of workers) await w.proc.kill();
  await server.proc.kill();
});

function runsFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'millrace-wac-')), 'runs.txt');
  writeFileSync(file, '');
  return file;
}
const runsOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

async function run(fixture: string, args: Record<string, unknown>) {
  const { id } = await engine.submit({ path: `${FIXTURES}/${fixture}`, args });
  const root = await engine.wait(id);
  const children = (await engine.descendants(id)).filter((j) => j.id !== id);
  const log: LogLine[] = [];
  for await (const line of engine.logs(id)) log.push(line);
  return { root, children, log };
}
const linesFrom = (log: LogLine[], child: JobRecord) =>
  log.filter((l) => l.source?.jobId === child.id).map((l) => l.line);

describe('Windmill workflows on a server with two workers', () => {
  it("runs Windmill's documented File Shape and Parallelism examples (windmill-cli's guide, read at run time)", async () => {
    const examples = guideExamples();
    const fileShape = examples.get('File Shape')![0];
    const parallelism = examples.get('Parallelism')![0];
    // Under the server's root, which it resolves script paths in; gitignored, removed after.
    const dir = mkdtempSync(join(REPO_ROOT, FIXTURES, '.documented-'));
    try {
      writeFileSync(join(dir, 'file-shape.ts'), fileShape);
      writeFileSync(
        join(dir, 'parallel.ts'),
        inFileShape(fileShape, `const items = [x, x + "2", x + "3"];\n${parallelism}return { a, b, many };`),
      );
      const path = dir.slice(REPO_ROOT.length + 1);
      const { id } = await engine.submit({ path: `${path}/file-shape`, args: { x: 'docs' } });
      expect(await engine.wait(id)).toMatchObject({ status: 'success', result: { result: 'processed: docs' } });
      const tasks = (await engine.descendants(id)).filter((j) => j.parentJob === id);
      expect(tasks.map((t) => [t.kind, t.status, t.result])).toEqual([['script', 'success', 'processed: docs']]);

      const fanned = await engine.submit({ path: `${path}/parallel`, args: { x: 'p' } });
      expect(await engine.wait(fanned.id)).toMatchObject({
        status: 'success',
        result: { a: 'processed: a', b: 'processed: b', many: ['processed: p', 'processed: p2', 'processed: p3'] },
      });
      const children = (await engine.descendants(fanned.id)).filter((j) => j.parentJob === fanned.id);
      expect(children.map((c) => c.status)).toEqual(Array(5).fill('success'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a Promise.all fan-out: one child job per task, their lines in the root log', async () => {
    const runs = runsFile();
    const { root, children, log } = await run('fan-out', { x: 'hi', runs });
    expect(root).toMatchObject({ status: 'success', result: { result: ['processed: hi-a', 'processed: hi-b'] } });
    const tasks = children.filter((j) => j.entrypoint === 'processItem');
    expect(tasks).toHaveLength(2);
    expect(tasks.flatMap((t) => linesFrom(log, t)).sort()).toEqual(['processing hi-a', 'processing hi-b']);
    expect(runsOf(runs).sort()).toEqual(['processItem hi-a', 'processItem hi-b']);
  });

  it('records a step with a timestamp once', async () => {
    const runs = runsFile();
    const stepped = await run('step-timestamp', { runs });
    const result = stepped.root.result as { startedAt: string; recorded: string };
    expect(result.recorded).toBe(`started at ${result.startedAt}`);
    expect(stepped.children.filter((j) => j.kind === 'step').map((j) => j.entrypoint)).toEqual(['started_at']);
    expect(runsOf(runs)).toEqual(['record']);
  });

  it("reads the job's own progress back through the SDK, as the server records it", async () => {
    const { root } = await run('progress', { percent: 64 });
    expect(root).toMatchObject({ status: 'success', result: { before: null, after: 64 } });
    const res = await request(`${server.url}/api/w/default/job_metrics/get_progress/${root.id}`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(await res.body.json()).toBe(64);
  });

  it('sleeps durably between two tasks', async () => {
    const runs = runsFile();
    const slept = await run('sleep', { runs });
    expect(slept.root.status).toBe('success');
    expect(slept.children.map((j) => j.kind).sort()).toEqual(['script', 'script', 'sleep']);
    expect(runsOf(runs)).toEqual(['before', 'after']);
  });

  it('runs taskScript and taskFlow by path', async () => {
    const byPath = await run('script-and-flow', { url: 'http://x' });
    expect(byPath.root).toMatchObject({ status: 'success', result: { data: { rows: [8, 2, 3] }, output: 13 } });
    expect(byPath.log.map((l) => l.line)).toEqual(expect.arrayContaining(['extracting http://x', 'summing 3 rows']));
  });

  it('hands a failed task to the catch of the workflow', async () => {
    const caught = await run('caught', { amount: 5, runs: runsFile() });
    expect(caught.root.result).toEqual({
      charged: false,
      name: 'TaskError',
      message: 'card declined for 5',
      step: 'charge',
    });
  });

  // Each round is a Node process start (about a second, more on a loaded machine): these make 4 to 9.
  it('retries a task as Windmill counts attempts: attempts 2 is three runs', async () => {
    const retriedRuns = runsFile();
    const retried = await run('retried', { runs: retriedRuns });
    expect(retried.root.result).toEqual({ orders: 3, tries: 3 });
    expect(retried.children.filter((j) => j.entrypoint === 'fetchOrders')).toHaveLength(3);
    expect(runsOf(retriedRuns)).toHaveLength(3);
  }, 180_000);

  it('runs parallel() with a concurrency in batches', async () => {
    const par = await run('parallel', { items: [1, 2, 3, 4, 5], runs: runsFile() });
    expect(par.root.result).toEqual([2, 4, 6, 8, 10]);
    expect(par.children.filter((j) => j.entrypoint === 'double')).toHaveLength(5);
  }, 180_000);

  it('resumes waitForApproval through the resume URL from getApprovalUrls', async () => {
    const { id } = await engine.submit({ path: `${FIXTURES}/approval`, args: {} });
    let resume = '';
    for await (const line of engine.logs(id, { follow: true })) {
      const m = /^approve: (\S+)/.exec(line.line);
      if (m) {
        resume = m[1];
        break;
      }
    }
    expect(resume).toContain(`/jobs_u/resume/${id}/manager/`);
    // The server answers windmill-client's getWacApprovalUrls with the same URLs.
    const asked = await request(`${server.url}/api/w/default/jobs/wac_approval_urls/${id}/manager`, {
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(asked.statusCode).toBe(200);
    expect(((await asked.body.json()) as { resume: string }).resume).toBe(resume);
    // The URL answers once the workflow waits: re-read until its wait child exists (a condition).
    while (!(await engine.descendants(id)).some((j) => j.kind === 'wait')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const res = await request(`${resume}?approver=alice`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ok: true }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    const root = await engine.wait(id);
    expect(root).toMatchObject({
      status: 'success',
      result: { approved: true, approver: 'alice', value: { ok: true } },
    });
    const kids = (await engine.descendants(id)).filter((j) => j.id !== id);
    expect(kids.map((j) => `${j.kind} ${j.entrypoint}`).sort()).toEqual([
      'step notify',
      'step urls',
      'wait @approval:manager',
    ]);
  });

  it('after kill -9 of the worker running the workflow, no finished task body runs again', async () => {
    const held: ServerResponse[] = [];
    let open = false;
    let reached!: () => void;
    const secondWaits = new Promise<void>((r) => (reached = r));
    const gate = createServer((_req, res) => {
      if (open) return void res.end('open');
      held.push(res);
      reached();
    });
    await new Promise<void>((r) => gate.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
    try {
      const runs = runsFile();
      const { id } = await engine.submit({ path: `${FIXTURES}/durable`, args: { gate: url, runs } });
      await secondWaits;
      expect(runsOf(runs)).toEqual(['first']);
      const root = (await engine.get(id))!;
      const victim = workers.find((w) => w.id === root.worker)!;
      victim.proc.child.kill('SIGKILL');
      await victim.proc.exited;
      open = true;
      for (const res of held.splice(0)) res.end('open');
      const done = await engine.wait(id);
      expect(done.error).toBeNull();
      expect(done).toMatchObject({ status: 'success', result: { sum: 3 } });
      // The step taken before the kill is the value the replayed workflow saw (a step never runs twice).
      const steps = (await engine.descendants(id)).filter((j) => j.kind === 'step');
      expect(steps).toHaveLength(1);
      expect((done.result as { startedAt: number }).startedAt).toBe(steps[0].result);
      expect(done.worker).not.toBe(victim.id);
      // The finished task ran once; the one the kill interrupted may have run again, and finished once.
      expect(runsOf(runs).filter((r) => r === 'first')).toEqual(['first']);
      expect(runsOf(runs).filter((r) => r === 'second').length).toBeGreaterThanOrEqual(1);
      const attempts = await engine.attempts(id);
      expect(attempts).toContainEqual(
        expect.objectContaining({ worker: victim.id, error: expect.objectContaining({ code: 'LEASE_EXPIRED' }) }),
      );
      // Replace the killed worker for the tests after this one.
      workers[workers.indexOf(victim)] = await startWorkerProcess(server.url, [
        '--lease-ms',
        '3000',
        '--concurrency',
        '4',
      ]);
    } finally {
      gate.closeAllConnections();
      gate.close();
    }
  }, 180_000);
});
