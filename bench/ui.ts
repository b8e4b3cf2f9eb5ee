// npm run bench:ui [-- --json]
// How the web UI copes with big runs: `millrace dev` on loopback, a run of N children each, and
// Debian's chromium (playwright-core) opening its page. Measures the time from navigation to the
// timeline drawn, the time to draw each scroll step of the timeline, the DOM size, and the JS heap.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'mr_bench_ui_token';
const SIZES = [100, 1000, 5000];
const { values: flags } = parseArgs({ options: { json: { type: 'boolean', default: false } } });
const say = (text: string) => {
  if (!flags.json) process.stdout.write(`${text}\n`);
};

interface UiFigures {
  children: number;
  /** Navigation to the timeline's summary line drawn, ms. */
  firstDrawMs: number;
  /** Per scroll step (one screen of rows) through the whole timeline: median and worst, ms. */
  scrollStepP50Ms: number;
  scrollStepMaxMs: number;
  /** Timeline rows in the DOM at once. */
  rowsInDom: number;
  /** Elements in the whole page. */
  domNodes: number;
  jsHeapMb: number;
}

async function main(dir: string): Promise<void> {
  const dev = spawn(process.execPath, [join(ROOT, 'bin/millrace.js'), 'dev', '--port', '0', '--db', join(dir, 'ui.db')], {
    cwd: ROOT,
    env: { ...process.env, MILLRACE_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res, rej) => {
    let out = '';
    dev.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /millrace dev on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) res(m[1]);
    });
    dev.once('exit', (code) => rej(new Error(`millrace dev exited (${code}): ${out}`)));
  });
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
  const browser = await chromium.launch({
    executablePath: process.env.MILLRACE_CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const figures: UiFigures[] = [];
  try {
    for (const children of SIZES) {
      const id = await (await fetch(`${url}/api/w/default/jobs/run/p/__tests__/fixtures/fan-out`, { method: 'POST', headers, body: JSON.stringify({ children }) })).text();
      await (await fetch(`${url}/api/w/default/jobs_u/logs/${id}?follow=true`, { headers })).text(); // ends with the run
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const started = performance.now();
      await page.goto(`${url}/#/run/${id}`);
      await page.waitForSelector(`.tl-summary:text("${children} jobs")`);
      const firstDrawMs = Math.round(performance.now() - started);
      // Scroll one screen at a time; each step waits for the frame that draws the new rows.
      const steps = await page.evaluate(async () => {
        const scroller = document.getElementById('timeline-rows')!;
        const times: number[] = [];
        while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
          const t = performance.now();
          scroller.scrollTop += scroller.clientHeight;
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          times.push(performance.now() - t);
        }
        return times.sort((a, b) => a - b);
      });
      const metrics = await page.evaluate(() => ({
        rows: document.querySelectorAll('#timeline .tl-row').length,
        nodes: document.getElementsByTagName('*').length,
      }));
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const { metrics: perf } = await cdp.send('Performance.getMetrics');
      const heap = perf.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
      figures.push({
        children,
        firstDrawMs,
        scrollStepP50Ms: Math.round(steps[Math.floor(steps.length / 2)] ?? 0),
        scrollStepMaxMs: Math.round(steps[steps.length - 1] ?? 0),
        rowsInDom: metrics.rows,
        domNodes: metrics.nodes,
        jsHeapMb: Math.round((heap / 1024 / 1024) * 10) / 10,
      });
      await page.close();
    }
  } finally {
    await browser.close();
    dev.kill('SIGTERM');
  }
  say('children  first draw ms  scroll step p50 ms  scroll step max ms  rows in DOM  DOM nodes  JS heap MB');
  for (const f of figures) {
    say(
      `${String(f.children).padStart(8)}  ${String(f.firstDrawMs).padStart(13)}  ${String(f.scrollStepP50Ms).padStart(18)}  ${String(f.scrollStepMaxMs).padStart(18)}  ${String(f.rowsInDom).padStart(11)}  ${String(f.domNodes).padStart(9)}  ${String(f.jsHeapMb).padStart(10)}`,
    );
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ ui: figures })}\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-ui-'));
try {
  await main(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
