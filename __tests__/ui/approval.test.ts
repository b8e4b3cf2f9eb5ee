import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { decode } from '../../lib/serialize.js';
import type { JobRecord } from '../../lib/types.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDb } from '../helpers/engine.js';
import { startMillrace, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * The approval page and the waiting runs in a real Chromium, against `millrace dev`. The
 * approval page is opened in a fresh browser context with no session: the signed URL is all
 * an approver needs.
 */
describe('approvals in the web UI', () => {
  let dev: Proc;
  let url: string;
  let browser: Browser;
  let engine: HttpEngine;

  beforeAll(async () => {
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], { MILLRACE_TOKEN: TEST_TOKEN });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    engine = new HttpEngine({ server: url, token: TEST_TOKEN });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await engine?.close();
    await dev?.kill();
  });

  /** Starts the approval fixture; resolves once it waits, with its approval page's URL. */
  async function approvalJob(): Promise<{ job: JobRecord; page: string }> {
    const job = await engine.submit({ path: '__tests__/fixtures/approval', args: {} });
    let page = '';
    for await (const { line } of engine.logs(job.id, { follow: true })) {
      if (line.startsWith('page ')) page = line.slice(5);
      if (line.startsWith('cancel ')) break;
    }
    for (;;) {
      const waits = (await engine.descendants(job.id)).filter((j) => j.kind === 'wait' && j.status === 'queued');
      if (waits.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return { job, page };
  }

  async function freshPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    return context.newPage();
  }

  it('shows the run and its form; Approve sends the value, checked in the page and by the server', async () => {
    const { job, page: pageUrl } = await approvalJob();
    expect(pageUrl.startsWith(`${url}/#/approve/default/${job.id}/approval/`)).toBe(true);
    const page = await freshPage();
    await page.goto(pageUrl);
    await page.waitForSelector('#approve');
    expect(await page.textContent('#approval')).toContain(job.id);
    expect(await page.textContent('#approval')).toContain('__tests__/fixtures/approval');
    // The form rendered from the schema: amount (a required number) and note (an optional string).
    await page.fill('#arg-amount', 'lots');
    await page.click('#approve');
    await page.waitForFunction(() =>
      document.querySelector('#approval-message')?.textContent?.includes('expected a number'),
    );
    // What the page does not check (a minimum), the server does: its 400 names the field.
    await page.fill('#arg-amount', '-1');
    await page.click('#approve');
    await page.waitForFunction(
      () => document.querySelector('#approval-message')?.textContent === 'value.amount: must be >= 0',
    );
    expect((await engine.get(job.id))!.status).toBe('running');

    await page.fill('#arg-amount', '12.5');
    await page.fill('#arg-note', 'looks fine');
    await page.click('#approve');
    await page.waitForSelector('#approval-state.ok');
    expect(await page.textContent('#approval-state')).toBe('Approved: the run goes on.');
    const done = await engine.wait(job.id);
    expect(decode(done.result!)).toEqual({
      approved: true,
      value: { amount: 12.5, note: 'looks fine' },
      approver: null,
    });

    // The run's timeline has the wait, named after its approval.
    const runPage = await freshPage();
    await runPage.goto(`${url}/#/run/${job.id}`);
    await runPage.waitForSelector('#timeline .tl-row[data-name="@approval:approval"][data-status="success"]');
    await runPage.context().close();

    // The same URL again: answered already, no buttons.
    await page.goto('about:blank');
    await page.goto(pageUrl);
    await page.waitForSelector('#approval-state');
    expect(await page.textContent('#approval-state')).toBe('This approval was answered already.');
    expect(await page.$('#approve')).toBeNull();
    await page.context().close();
  });

  it('Reject rejects; the waiting page lists the run and what it waits for', async () => {
    const { job, page: pageUrl } = await approvalJob();
    const page = await freshPage();
    // `millrace dev` hands its UI a session: the waiting runs page needs one.
    await page.goto(`${url}/#/waiting`);
    await page.waitForSelector(`#waiting tr[data-job="${job.id}"]`);
    expect(await page.textContent(`#waiting tr[data-job="${job.id}"] .waits-for`)).toBe('approval "approval"');

    await page.goto(pageUrl);
    await page.waitForSelector('#reject');
    await page.click('#reject');
    await page.waitForSelector('#approval-state.ok');
    expect(decode((await engine.wait(job.id)).result!)).toEqual({ approved: false, value: null, approver: null });
    await page.goto(`${url}/#/waiting`);
    await page.waitForSelector('#waiting');
    await page.waitForFunction(
      (id) =>
        !document.querySelector(`#waiting tr[data-job="${id}"]`) &&
        document.querySelector('p.muted')?.textContent !== '',
      job.id,
    );
    expect(await page.$(`#waiting tr[data-job="${job.id}"]`)).toBeNull();
    await page.context().close();
  });
});
