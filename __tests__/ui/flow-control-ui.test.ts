import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { TreeReply } from '../../lib/http/wire.js';
import type { JobRecord, QueueSummary } from '../../lib/types.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDb } from '../helpers/engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * Why a job waits, as the run page says it in Chromium against `millrace dev`: a concurrency
 * key at its limit, a rate limit, a cached result; and the Queue page's counts per key.
 */
describe('flow control in the web UI', () => {
  let dev: Proc;
  let url: string;
  let browser: Browser;
  let page: Page;
  const api = apiCaller(() => url);
  const submit = (args: Record<string, unknown>) =>
    api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/flow-control', args);
  const tree = (id: string) => api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
  const finished = async (id: string) => {
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    return tree(id);
  };
  /** Waits for a state of the run no event announces to a client (its children queued and claimed). */
  const until = async <T>(read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> => {
    for (;;) {
      const v = await read();
      if (ok(v)) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb(), '--concurrency', '4'], { MILLRACE_TOKEN: TEST_TOKEN });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.kill();
  });

  it('shows a job waiting for its concurrency key, and the key on the Queue page', async () => {
    const gate = join(mkdtempSync(join(tmpdir(), 'mr-gate-')), 'open');
    const id = await submit({ mode: 'gate', file: gate });
    const children = await until(
      async () => (await tree(id)).descendants,
      (d: JobRecord[]) => d.length === 4 && d.filter((j) => j.status === 'running').length === 3,
    );
    const waiting = children.find((j) => j.status === 'queued')!;
    await page.goto(`${url}/#/run/${waiting.id}`);
    await page.waitForSelector('#wait-reason');
    expect(await page.textContent('#wait-reason p')).toBe('waiting for concurrency key `api:stripe` (3 of 3 running)');

    await page.goto(`${url}/#/queue`);
    await page.waitForSelector('#queue-keys tr[data-key="concurrency:api:stripe"]');
    const cells = await page.$$eval('#queue-keys tr[data-key="concurrency:api:stripe"] td', (tds) =>
      tds.map((td) => td.textContent),
    );
    expect(cells).toEqual(['concurrency', 'api:stripe', '1', '3', '3 at once']);
    expect(await api<QueueSummary>('GET', '/api/w/default/queue')).toMatchObject({
      keys: [{ kind: 'concurrency', key: 'api:stripe', queued: 1, running: 3, limit: 3 }],
    });

    writeFileSync(gate, '');
    expect((await finished(id)).job).toMatchObject({ status: 'success', result: [0, 1, 2, 3] });
  });

  it('shows a rate-limited job with the time it may start', async () => {
    const id = await submit({ mode: 'hourly' });
    const children = await until(
      async () => (await tree(id)).descendants,
      (d: JobRecord[]) =>
        d.length === 2 &&
        d.some((j) => j.status === 'success') &&
        d.some((j) => j.status === 'queued' && j.scheduledFor > Date.now()),
    );
    const limited = children.find((j) => j.status === 'queued')!;
    await page.goto(`${url}/#/run/${limited.id}`);
    await page.waitForSelector('#wait-reason');
    const expectedTime = await page.evaluate((ms) => new Date(ms).toLocaleTimeString(), limited.scheduledFor);
    expect(await page.textContent('#wait-reason p')).toBe(
      `rate limited until ${expectedTime} (key \`hourly\`, 1 per 3600 s)`,
    );
    await api('POST', `/api/w/default/jobs_u/queue/cancel/${id}`, { reason: 'done looking' });
    await finished(id);
  });

  it('shows the job a cached call reused', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-cache-ui-')), 'runs.txt');
    const first = await finished(await submit({ mode: 'cache', count: 5, file }));
    const second = await finished(await submit({ mode: 'cache', count: 5, file }));
    const cached = second.descendants[0];
    expect(cached.cachedFrom).toBe(first.descendants[0].id);
    await page.goto(`${url}/#/run/${cached.id}`);
    await page.waitForSelector('#wait-reason');
    expect(await page.textContent('#wait-reason p')).toBe(`cached from \`${first.descendants[0].id}\``);
    expect(await page.textContent('#result')).toContain('10');
  });
});
