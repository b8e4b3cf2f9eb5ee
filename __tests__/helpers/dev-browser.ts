import { afterAll, beforeAll } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from './browser.js';
import { tempDb } from './engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from './processes.js';

export interface DevAndBrowser {
  /** The dev server's URL, once started. */
  url: string;
  /** A Chromium page, once started. */
  page: Page;
  /** The dev server's API, with the test token. */
  api: ReturnType<typeof apiCaller>;
}

/**
 * `millrace dev` on a fresh database and a Chromium page for the browser tests of a describe
 * block: started before its tests, stopped after them. Read the fields inside the tests.
 */
export function devAndBrowser(options: { viewport?: { width: number; height: number } } = {}): DevAndBrowser {
  let dev: Proc | undefined;
  let browser: Browser | undefined;
  const it: DevAndBrowser = { url: '', page: undefined as unknown as Page, api: apiCaller(() => it.url) };
  beforeAll(async () => {
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], { MILLRACE_TOKEN: TEST_TOKEN });
    [, it.url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    browser = await launchChromium();
    it.page = options.viewport
      ? await (await browser.newContext({ viewport: options.viewport })).newPage()
      : await browser.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.kill();
  });
  return it;
}
