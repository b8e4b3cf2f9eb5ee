import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { launchChromium } from '../helpers/browser.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** The web UI of `millrace server`: a token form first; then the workers page shows a remote worker and its job. */
describe('the web UI of a server', () => {
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  let browser: Browser;
  let holder: Server;
  let holderUrl: string;
  const held: ServerResponse[] = [];
  let onHeld: () => void = () => {};

  beforeAll(async () => {
    server = await startServerProcess();
    worker = await startWorkerProcess(server.url, ['--tag', 'default', '--tag', 'cpu']);
    browser = await launchChromium();
    // The hold fixture's task blocks on this server until the test answers.
    holder = createServer((_req, res) => {
      held.push(res);
      onHeld();
    });
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    holderUrl = `http://127.0.0.1:${(holder.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    for (const res of held) res.end('done');
    await browser?.close();
    await worker?.proc.kill();
    await server?.proc.kill();
    // Not made when a step of beforeAll failed first: then there is nothing to close, and no wait.
    if (holder) await new Promise((r) => holder.close(r));
  });

  it('asks for a token, keeps it for the browser session only, and logs out', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForSelector('#login');
    expect(await page.locator('#logout').isVisible()).toBe(false);

    await page.fill('#token', 'mr_not_a_token');
    await page.click('#login button[type=submit]');
    // The token is checked with the server: wait for its answer.
    await page.locator('#login .error', { hasText: 'Unknown token' }).waitFor();
    expect(await page.locator('#login .error').textContent()).toBe('Unknown token (401)');
    expect(await page.evaluate(() => sessionStorage.getItem('millrace.token'))).toBeNull();

    await page.fill('#token', TEST_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#runs');
    expect(await page.evaluate(() => sessionStorage.getItem('millrace.token'))).toBe(TEST_TOKEN);
    await page.reload();
    await page.waitForSelector('#runs');
    expect(await page.locator('#login').count()).toBe(0);

    // Another browser session starts logged out.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    await otherPage.goto(`${server.url}/#/runs`);
    await otherPage.waitForSelector('#login');
    await other.close();

    await page.click('#logout');
    await page.waitForSelector('#login');
    expect(await page.evaluate(() => sessionStorage.getItem('millrace.token'))).toBeNull();
    await context.close();
  });

  it('shows the live workers, their tags and the jobs they run now', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    await page.fill('#token', TEST_TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#runs');

    const holding = new Promise<void>((r) => (onHeld = r));
    const res = await request(`${server.url}/api/w/default/jobs/run/p/__tests__/fixtures/hold`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: holderUrl }),
    });
    const rootId = await res.body.text();
    await holding;

    await page.goto(`${server.url}/#/workers`);
    const row = page.locator(`#workers tr[data-worker="${worker.id}"]`);
    await row.waitFor();
    expect(await row.locator('.tag').allTextContents()).toEqual(['default', 'cpu']);
    // The root waits on its child (holding no slot); both are the worker's jobs now.
    await page.waitForFunction(
      ({ id, root }) =>
        [...document.querySelectorAll(`#workers tr[data-worker="${id}"] a`)].some(
          (a) => a.getAttribute('href') === `#/run/${root}`,
        ),
      { id: worker.id, root: rootId },
    );
    for (const r of held.splice(0)) r.end('done');
    await context.close();
  });
});
