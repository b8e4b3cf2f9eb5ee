import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import * as wmill from 'windmill-client';
import { configure, disconnect, getProgress, setProgress } from '../../lib/index.js';
import { NotInJobError } from '../../lib/errors.js';
import { ProgressError } from '../../lib/errors-operations.js';
import { checkProgress } from '../../lib/progress.js';
import { launchChromium } from '../helpers/browser.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import {
  apiCaller,
  runToEnd,
  startMillrace,
  startServerProcess,
  startWorkerProcess,
  TEST_TOKEN,
  type Proc,
} from '../helpers/processes.js';

/**
 * Job progress against `millrace dev` (a server and a worker): windmill-client's setProgress
 * inside a job and getProgress outside agree, and so do millrace's own; `show` and the run page
 * draw the bar.
 */
describe('job progress', () => {
  let dev: Proc;
  let url: string;
  let gate: Server;
  let gateUrl: string;
  const waiting = new Map<string, () => void>();
  const arrived = new Map<string, () => void>();
  const api = apiCaller(() => url);

  /** Resolves when the job reaches the gate at `step`; the job waits there until `release(step)`. */
  const reached = (step: string) =>
    new Promise<void>((resolve) => (waiting.has(step) ? resolve() : arrived.set(step, resolve)));
  const release = (step: string) => waiting.get(step)!();

  beforeAll(async () => {
    gate = createServer((req, res) => {
      const step = new URL(req.url ?? '/', 'http://x').searchParams.get('step')!;
      waiting.set(step, () => res.end('go'));
      arrived.get(step)?.();
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/`;
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], { MILLRACE_TOKEN: TEST_TOKEN });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    process.env.WM_WORKSPACE = 'default';
    wmill.setClient(TEST_TOKEN, url);
    configure({ server: url, token: TEST_TOKEN });
  });
  afterAll(async () => {
    for (const go of waiting.values()) go();
    await disconnect();
    await dev?.kill();
    gate?.close();
  });

  it('windmill-client inside the job and outside agree, and so do millrace’s setProgress and getProgress; show and the run page draw the bar', async () => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/progress', {
      server: url,
      token: TEST_TOKEN,
      gate: gateUrl,
    });
    await reached('1');
    expect(await wmill.getProgress(id)).toBe(42);
    expect(await getProgress(id)).toEqual({ percent: 42, message: null, updatedAt: expect.any(Number) });
    release('1');
    await reached('2');
    // The report is written in line with the job's log: once the job waits at the gate, it is stored.
    expect(await wmill.getProgress(id)).toBe(75);
    expect(await getProgress(id)).toMatchObject({ percent: 75, message: 'three quarters' });

    const shown = await runToEnd(
      process.execPath,
      [`${REPO_ROOT}/bin/millrace.js`, 'show', id, '--server', url, '--token', TEST_TOKEN],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(
      `progress\n  ${id.slice(0, 8)} __tests__/fixtures/progress  ███████████████░░░░░  75%  three quarters\n`,
    );

    let browser: Browser | undefined;
    try {
      browser = await launchChromium();
      const page = await browser.newPage();
      await page.goto(`${url}/#/run/${id}`);
      const bar = page.locator(`#progress .progress-row[data-job="${id}"]`);
      await bar.waitFor();
      expect(await bar.locator('progress').getAttribute('value')).toBe('75');
      expect(await bar.locator('.progress-percent').textContent()).toBe('75%');
      expect(await bar.locator('.progress-message').textContent()).toBe('three quarters');
    } finally {
      await browser?.close();
    }

    release('2');
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`); // ends when the job has
    const done = await api<{ job: { status: string; result: unknown } }>('GET', `/api/w/default/jobs_u/tree/${id}`);
    expect(done.job.status).toBe('success');
    // getProgress inside the job read what it had reported.
    expect(done.job.result).toMatchObject({ percent: 75, message: 'three quarters' });
  });

  it('through a remote worker: the report goes in worker/report, and getProgress inside the job reads it back over HTTP', async () => {
    const server = await startServerProcess();
    const worker = await startWorkerProcess(server.url, ['--tag', 'default']);
    try {
      const remote = apiCaller(() => server.url);
      waiting.clear();
      arrived.clear();
      const id = await remote<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/progress', {
        server: server.url,
        token: TEST_TOKEN,
        gate: gateUrl,
      });
      await reached('1');
      expect(await remote('GET', `/api/w/default/job_metrics/get_progress/${id}`)).toBe(42);
      release('1');
      await reached('2');
      expect(await remote('GET', `/api/w/default/jobs_u/progress/${id}`)).toMatchObject({
        percent: 75,
        message: 'three quarters',
      });
      release('2');
      await remote<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
      const done = await remote<{
        job: { status: string; worker: string; result: unknown };
        progress: Record<string, unknown>;
      }>('GET', `/api/w/default/jobs_u/tree/${id}`);
      expect(done.job).toMatchObject({
        status: 'success',
        worker: worker.id,
        result: { percent: 75, message: 'three quarters' },
      });
      expect(done.progress[id]).toMatchObject({ percent: 75 });
    } finally {
      await worker.proc.kill();
      await server.proc.kill();
    }
  });

  it('a bad report is a typed error: over HTTP a 400 naming what was expected; outside a job, NotInJobError', async () => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/say', {});
    await expect(api('POST', `/api/w/default/job_metrics/set_progress/${id}`, { percent: 140 })).rejects.toThrow(
      /400 \{"error":\{"code":"BAD_PROGRESS","message":"Progress: expected a percentage from 0 to 100, got number 140"\}\}/,
    );
    await expect(api('POST', `/api/w/default/job_metrics/set_progress/${id}`, { percent: 'half' })).rejects.toThrow(
      /BAD_PROGRESS/,
    );
    await expect(
      api('POST', '/api/w/default/job_metrics/set_progress/nosuchjob0000000000', { percent: 1 }),
    ).rejects.toThrow(/404 .*UNKNOWN_JOB/);
    expect(await api('GET', `/api/w/default/job_metrics/get_progress/${id}`)).toBeNull();
    expect(() => setProgress(10)).toThrow(NotInJobError);
    expect(() => checkProgress(Number.NaN)).toThrow(ProgressError);
    expect(() => checkProgress(5, 'x'.repeat(1001))).toThrow(
      /expected a string of at most 1000 characters, got 1001 characters/,
    );
    expect(checkProgress(99.9, 'ok')).toEqual({ percent: 99, message: 'ok' });
  });
});
