import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { REPO_ROOT } from '../helpers/engine.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** The CLI's commands with --server behave as they do embedded. */
describe('the CLI against a server', () => {
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  const env = () => ({ MILLRACE_SERVER: server.url, MILLRACE_TOKEN: TEST_TOKEN });

  beforeAll(async () => {
    server = await startServerProcess();
    worker = await startWorkerProcess(server.url, ['--tag', 'default', '--tag', 'cpu']);
  });
  afterAll(async () => {
    await worker?.proc.kill();
    await server?.proc.kill();
  });

  async function cli(args: string[]) {
    const proc = startMillrace(args, env());
    const code = await proc.exited;
    return { code, out: proc.output() };
  }

  it('run, jobs, logs, show, workers', async () => {
    const run = await cli(['run', '--json', 'examples/heavy.ts', '--n', '2']);
    expect(run.code).toBe(0);
    const { job_id: id, result } = JSON.parse(run.out.trim().split('\n').pop()!) as { job_id: string; result: string };
    expect(result).toBe('OK');

    const jobs = await cli(['jobs', '--roots']);
    expect(jobs.out).toContain(id);
    const logs = await cli(['logs', id.slice(0, 8)]);
    expect(logs.out).toMatch(/^\[sendResult [0-9a-z]{8}\] Sending result/m);
    const show = await cli(['show', id]);
    expect(show.out).toMatch(/^✔ examples\/heavy/m);
    expect(show.out.match(/✔ heavyCompute/g)).toHaveLength(2);
    const workers = await cli(['workers']);
    expect(workers.out).toContain(`${worker.id}`);
    expect(workers.out).toMatch(/tags: default, cpu/);
  });

  it('run streams the log and the result, and refuses bad args with the server’s schema', async () => {
    const run = await cli(['run', 'examples/heavy.ts', '--n', '1']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/\[sendResult [0-9a-z]{8}\] Sending result/);
    expect(run.out).toMatch(/^"OK"$/m);
    const bad = await cli(['run', 'examples/heavy.ts', '--n', 'abc']);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/--n: expected a number, got "abc"/);
    const unknown = await cli(['run', 'examples/nope.ts']);
    expect(unknown.code).toBe(2);
    expect(unknown.out).toMatch(/Unknown script/);
  });

  it('cancel stops a run and its children', async () => {
    const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
    try {
      const job = await engine.submit({ path: '__tests__/fixtures/slow', args: { count: 1000, ms: 20 } });
      for await (const line of engine.logs(job.id, { follow: true })) if (line.line === 'tick 1') break;
      const cancel = await cli(['cancel', job.id, '--reason', 'done here']);
      expect(cancel.code).toBe(0);
      expect(cancel.out).toMatch(/canceled [0-9a-z]{8} __tests__\/fixtures\/slow/);
      expect(cancel.out).toMatch(/canceled [0-9a-z]{8} tick/);
      const done = await engine.wait(job.id);
      expect(done).toMatchObject({ status: 'canceled', error: { name: 'CanceledError', message: 'done here' } });
      expect((await engine.descendants(job.id)).map((j) => j.status)).toEqual(['canceled']);
    } finally {
      await engine.close();
    }
  });

  it('warns once when a job waits on a tag no live worker serves, naming the tags they do serve', async () => {
    const run = startMillrace(['run', '--tag', 'gpu', 'examples/heavy.ts', '--n', '1'], env());
    await run.waitFor(
      /warning: job [0-9a-z]{20} has waited \d+s with tag "gpu", which no live worker serves \(live workers serve: cpu, default\)/,
    );
    await run.kill('SIGINT');
    expect(run.output().match(/warning:/g)).toHaveLength(1);
  });
});

describe('a worker whose checkout differs', () => {
  it('fails the job with an error naming both hashes, and never runs it', async () => {
    const server = await startServerProcess();
    const checkout = mkdtempSync(join(tmpdir(), 'millrace-checkout-'));
    mkdirSync(join(checkout, 'examples'));
    cpSync(join(REPO_ROOT, 'examples/heavy.ts'), join(checkout, 'examples/heavy.ts'));
    writeFileSync(join(checkout, 'examples/heavy.ts'), '\n// changed on this machine\n', { flag: 'a' });
    const worker = await startWorkerProcess(server.url, ['--root', checkout]);
    const engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
    try {
      const job = await engine.submit({ path: 'examples/heavy', args: { n: 1 } });
      const done = await engine.wait(job.id);
      expect(done.status).toBe('failure');
      expect(done.error).toMatchObject({ name: 'ScriptHashMismatchError', code: 'SCRIPT_HASH_MISMATCH' });
      expect(done.error!.message).toMatch(
        new RegExp(
          `its copy of examples/heavy \\(sha256 [0-9a-f]{12}\\) differs from the one submitted \\(sha256 ${job.scriptHash.slice(0, 12)}\\)`,
        ),
      );
      expect(await engine.descendants(job.id)).toEqual([]);
      expect((await engine.attempts(job.id))[0].startedAt).toBeNull();
    } finally {
      await engine.close();
      await worker.proc.kill();
      await server.proc.kill();
    }
  });
});

describe('millrace dev', () => {
  it('serves the API and runs jobs of every tag in one process', async () => {
    const dev = startMillrace(['dev', '--port', '0', '--db', ':memory:'], { MILLRACE_TOKEN: TEST_TOKEN });
    const [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    const engine = new HttpEngine({ server: url, token: TEST_TOKEN });
    try {
      const job = await engine.submit({ path: 'examples/heavy', args: { n: 2 } });
      expect(await engine.wait(job.id)).toMatchObject({ status: 'success', result: 'OK' });
    } finally {
      await engine.close();
      await dev.kill();
    }
  });
});
