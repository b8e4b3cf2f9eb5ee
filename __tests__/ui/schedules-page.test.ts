import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { WireSchedule } from '../../lib/http/schedules.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDb } from '../helpers/engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** The schedules page in Chromium against `millrace dev`, which fires the schedules it lists. */
describe('the schedules page', () => {
  let dev: Proc;
  let url: string;
  let browser: Browser;
  let page: Page;
  const api = apiCaller(() => url);

  beforeAll(async () => {
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], { MILLRACE_TOKEN: TEST_TOKEN });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.kill();
  });

  it('lists each schedule with its next fire time and its last runs, and pauses and resumes it', async () => {
    await api('POST', '/api/w/default/schedules/create', {
      path: 'every-second',
      schedule: '* * * * * *',
      script_path: '__tests__/fixtures/tick',
      args: { label: 'ui' },
    });
    await api('POST', '/api/w/default/schedules/create', {
      path: 'yearly',
      schedule: '0 0 1 1 *',
      timezone: 'Europe/Paris',
      script_path: '__tests__/fixtures/tick',
    });
    await page.goto(`${url}/#/schedules`);
    // The page refreshes itself: the runs dev fires show up in it.
    await page.waitForSelector('#schedules tr[data-schedule="every-second"] [data-runs] a');
    const names = await page.$$eval('#schedules tbody tr', (trs) =>
      trs.map((tr) => (tr as HTMLElement).dataset.schedule),
    );
    expect(names).toEqual(['every-second', 'yearly']);
    const yearly = await page.$eval('#schedules tr[data-schedule="yearly"]', (tr) => tr.textContent);
    expect(yearly).toContain('0 0 1 1 * Europe/Paris');
    expect(yearly).toContain('none yet');
    // The next fire time shown is the server's, in the page's format.
    const [listed] = (await api<WireSchedule[]>('GET', '/api/w/default/schedules/list')).filter(
      (s) => s.path === 'yearly',
    );
    const next = await page.$eval('#schedules tr[data-schedule="yearly"] [data-next]', (td) => td.textContent);
    expect(next).not.toBe('');
    expect(next).not.toBe('paused');
    expect(listed.next_fire).not.toBeNull();

    // A run link opens the run's page.
    const runLink = page.locator('#schedules tr[data-schedule="every-second"] [data-runs] a').first();
    const href = await runLink.getAttribute('href');
    expect(href).toMatch(/^#\/run\/[0-9a-z]{20}$/);

    await page.click('#schedules tr[data-schedule="every-second"] button[data-action="pause"]');
    await page.waitForSelector('#schedules tr[data-schedule="every-second"] button[data-action="resume"]');
    expect(await page.$eval('#schedules tr[data-schedule="every-second"] [data-next]', (td) => td.textContent)).toBe(
      'paused',
    );
    expect((await api<WireSchedule>('GET', '/api/w/default/schedules/get/every-second')).enabled).toBe(false);

    await page.click('#schedules tr[data-schedule="every-second"] button[data-action="resume"]');
    await page.waitForSelector('#schedules tr[data-schedule="every-second"] button[data-action="pause"]');
    expect((await api<WireSchedule>('GET', '/api/w/default/schedules/get/every-second')).enabled).toBe(true);
    await page.click('nav a[data-nav="schedules"]');
    expect(await page.$eval('nav a[data-nav="schedules"]', (a) => a.classList.contains('active'))).toBe(true);
  });

  it('stays within a narrow window', async () => {
    const narrow = await page.context().newPage();
    await narrow.setViewportSize({ width: 390, height: 800 });
    await narrow.goto(`${url}/#/schedules`);
    await narrow.waitForSelector('#schedules tbody tr');
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await narrow.close();
  });
});
