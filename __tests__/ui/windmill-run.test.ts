import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import type { TreeReply } from '../../lib/http/wire.js';
import { devAndBrowser } from '../helpers/dev-browser.js';

/**
 * The run page of a Windmill workflow (__tests__/fixtures/windmill/fan-out.ts, Windmill's
 * documented fan-out, run unchanged) in a real browser against `millrace dev`: a bar per task
 * child, named after its task, the children's lines in the workflow's log, and a bar that opens
 * its child's page.
 */
describe('the run page of a Windmill workflow', () => {
  const env = devAndBrowser();

  it('draws a bar per task with its name and status, shows the tasks’ lines, and opens a task from its bar', async () => {
    const { api, page, url } = env;
    const runs = join(mkdtempSync(join(tmpdir(), 'millrace-wac-ui-')), 'runs.txt');
    writeFileSync(runs, '');
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/windmill/fan-out', {
      x: 'ui',
      runs,
    });
    // The followed log closes when the run has ended.
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    const { job, descendants } = await api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
    expect(job).toMatchObject({ status: 'success', result: { result: ['processed: ui-a', 'processed: ui-b'] } });
    const tasks = descendants.filter((j) => j.entrypoint === 'processItem');
    expect(tasks).toHaveLength(2);

    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('h1 .badge[data-status=success]');
    await page.waitForFunction(
      (n) => document.querySelectorAll('#timeline .tl-row[data-status=success]').length === n,
      descendants.length,
    );
    const drawn = await page.$$eval('#timeline .tl-row', (els) =>
      els.map((e) => ({
        id: (e as HTMLElement).dataset.jobId,
        name: (e as HTMLElement).dataset.name,
        status: (e as HTMLElement).dataset.status,
        label: e.querySelector('.tl-name')?.textContent ?? null,
        bar: e.querySelector('.tl-bar')?.getAttribute('href') ?? null,
      })),
    );
    expect(drawn).toHaveLength(2);
    expect(drawn.map((r) => r.id).sort()).toEqual(tasks.map((t) => t.id).sort());
    for (const r of drawn) {
      expect(r).toMatchObject({ name: 'processItem', label: 'processItem', status: 'success', bar: `#/run/${r.id}` });
    }

    // Each task's line is in the workflow's log, marked with the task's job.
    for (const x of ['ui-a', 'ui-b']) {
      const line = page.locator('.log-line', { hasText: `processing ${x}` });
      await line.waitFor();
      const href = await line.locator('.log-src').getAttribute('href');
      expect(tasks.map((t) => `#/run/${t.id}`)).toContain(href);
      expect(await line.locator('.log-src').textContent()).toMatch(/^processItem [0-9a-z]{8}$/);
    }

    // A bar opens its task's page, whose own log holds its line.
    const first = tasks[0];
    await page.click(`.tl-row[data-job-id="${first.id}"] .tl-bar`);
    await page.waitForSelector(`#job-id:text("${first.id}")`);
    expect(await page.locator('h1').textContent()).toContain('processItem');
    await page.locator('.log-line', { hasText: 'processing ui-' }).waitFor();
    expect(await page.locator('.log-line .log-src').count()).toBe(0);
  });
});
