import { describe, expect, it } from '@jest/globals';
import type { Page } from 'playwright-core';
import type { TreeReply } from '../../lib/http/wire.js';
import { devAndBrowser } from '../helpers/dev-browser.js';

/**
 * The run page of a flow (lib/ui/flow-modules.ts) in a real browser against `millrace dev`:
 * examples/flows/orders.flow.yaml runs for real, and the page lists its modules as the flow
 * job recorded them: loop iterations, the branch chosen, each step's job, the failure module.
 */
describe('the run page of a flow', () => {
  const env = devAndBrowser();
  const { api } = env;
  /** Runs the flow and resolves when it has ended (its followed log closes then). */
  const runFlow = async (args: Record<string, unknown>) => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/f/examples/flows/orders', args);
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    return api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
  };
  /** The modules listed at one level of the page: id, status, type, job link. */
  const listed = (p: Page, selector: string) =>
    p.$$eval(selector, (lis) =>
      lis.map((li) => ({
        id: (li as HTMLElement).dataset.module,
        state: (li as HTMLElement).dataset.state,
        job: li.querySelector(':scope > a')?.getAttribute('href') ?? null,
      })),
    );
  const items = [
    { sku: 'a', qty: 2, price: 30 },
    { sku: 'b', qty: 1, price: 50 },
    { sku: 'c', qty: 4, price: 5 },
  ];

  it('lists the modules of a flow run, its loop iterations and the branch chosen, each with its job', async () => {
    const { page, url } = env;
    const { job, descendants } = await runFlow({ items });
    expect(job).toMatchObject({ status: 'success', result: 'review 130' });
    const stepJob = (name: string) => `#/run/${descendants.find((d) => d.entrypoint === name)!.id}`;

    await page.goto(`${url}/#/run/${job.id}`);
    await page.waitForSelector('#flow-modules > ol > li[data-module="route"][data-state="Success"]');
    expect(await listed(page, '#flow-modules > ol > li')).toEqual([
      { id: 'price', state: 'Success', job: null },
      { id: 'total', state: 'Success', job: stepJob('total') },
      { id: 'route', state: 'Success', job: null },
    ]);
    // The loop: one part per iteration, each with its step's job.
    const iterations = await page.$$eval('li[data-module="price"] > .flow-parts > li', (lis) =>
      lis.map((li) => (li as HTMLElement).dataset.part),
    );
    expect(iterations).toEqual(['iteration 0', 'iteration 1', 'iteration 2']);
    const lines = await listed(page, 'li[data-module="price"] li[data-module="line"]');
    const lineJobs = descendants.filter((d) => d.entrypoint === 'line').map((d) => `#/run/${d.id}`);
    expect(lines.map((l) => l.state)).toEqual(['Success', 'Success', 'Success']);
    expect(lines.map((l) => l.job).sort()).toEqual(lineJobs.sort());
    // The branch chosen (130 >= 100: the first), and the module that ran in it.
    expect(await page.textContent('li[data-module="route"] .branch-chosen')).toBe(' → branch 0');
    expect(await listed(page, 'li[data-module="route"] li[data-module="review"]')).toEqual([
      { id: 'review', state: 'Success', job: stepJob('review') },
    ]);
    // The failure module did not run: it is not listed.
    expect(await page.locator('li[data-module="on_failure"]').count()).toBe(0);
  });

  it('shows the failing step with its error, the steps not reached, and the failure module that ran', async () => {
    const { page, url } = env;
    const { job } = await runFlow({ items, fail_on: 'b' });
    expect(job.status).toBe('failure');
    await page.goto(`${url}/#/run/${job.id}`);
    await page.waitForSelector('#flow-modules li[data-module="on_failure"][data-state="Success"]');
    const top = await listed(page, '#flow-modules > ol > li');
    expect(top.map((m) => [m.id, m.state])).toEqual([
      ['price', 'Failure'],
      ['total', 'WaitingForPriorSteps'],
      ['route', 'WaitingForPriorSteps'],
      ['on_failure', 'Success'],
    ]);
    expect(await page.textContent('li[data-module="total"]')).toContain('not started');
    const failed = await page.$$eval(
      'li[data-module="price"] li[data-module="line"][data-state="Failure"] > .error',
      (els) => els.map((e) => e.textContent),
    );
    expect(failed).toEqual(['Error: no price for b']);
  });

  it('has no modules section on a script run', async () => {
    const { page, url } = env;
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/examples/flows/sum', { values: [1, 2] });
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('h1 .badge[data-status="success"]');
    expect(await page.locator('#flow-modules').count()).toBe(0);
  });
});
