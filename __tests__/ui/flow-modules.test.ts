import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startServer, type ServerHandle } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { launchChromium } from '../helpers/browser.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';

/**
 * The run page's hook for flow runs (lib/ui/flow-modules.ts). Flows are not built yet
 * (issue 4), so the flow job and its steps are written to the store as the flow engine will
 * write them; nothing runs them. When flows land, this test should run a real flow instead.
 */
describe('the run page of a flow', () => {
  let store: SqliteStore;
  let server: ServerHandle;
  let browser: Browser;

  beforeAll(async () => {
    store = new SqliteStore({ file: tempDb() });
    server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: 'mr_flow_ui_admin', uiSession: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await store?.close();
  });

  it('lists the modules of a flow job, each with its status and a link to its job', async () => {
    const flow = (await store.enqueue({ kind: 'flow', scriptPath: 'flows/example', scriptHash: 'hash', entrypoint: 'main', args: {} })).job;
    const step = (id: string) => store.enqueue({ kind: 'flowstep', scriptPath: 'flows/example', scriptHash: 'hash', entrypoint: id, args: {}, parentJob: flow.id, callKey: id });
    const fetchStep = (await step('fetch')).job;
    const report = (await step('report')).job;
    await store.cancel(report.id, { reason: 'test', by: 'test' });

    const page = await browser.newPage();
    await page.goto(`${server.url}/#/run/${flow.id}`);
    await page.waitForSelector('#flow-modules li');
    const modules = await page.$$eval('#flow-modules li', (lis) =>
      lis.map((li) => ({ id: (li as HTMLElement).dataset.module, status: (li as HTMLElement).dataset.status, href: li.querySelector('a')?.getAttribute('href') })),
    );
    expect(modules).toEqual([
      { id: 'fetch', status: 'queued', href: `#/run/${fetchStep.id}` },
      { id: 'report', status: 'canceled', href: `#/run/${report.id}` },
    ]);
    // A script run has no such section.
    const script = (await store.enqueue({ kind: 'script', scriptPath: 'examples/heavy', scriptHash: 'hash', entrypoint: 'main', args: { n: 1 } })).job;
    await page.goto(`${server.url}/#/run/${script.id}`);
    await page.waitForSelector('h1 .badge');
    expect(await page.locator('#flow-modules').count()).toBe(0);
    await page.close();
  });
});
