import { chromium, type Browser } from 'playwright-core';

/** Debian's chromium package: Playwright never downloads a browser here. */
export const CHROMIUM = process.env.MILLRACE_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
