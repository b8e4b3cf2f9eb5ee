// npm run bench:ui [-- --json]
// How the web UI copes with big runs: `millrace dev` on loopback, a run of N children each, and
// the tests' Chromium (playwright-core; @sparticuz/chromium's, or MILLRACE_TEST_CHROMIUM) opening
// its page. Measures the time from navigation to the timeline drawn, the time to draw each
// scroll step of the timeline, the DOM size, and the JS heap.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launchChromium } from '../__tests__/helpers/browser.js';

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
  /** Per scroll step (one screen of rows) through the whole timeline, until the second frame after it: median and worst, ms. */
  scrollStepP50Ms: number;
  scrollStepMaxMs: number;
  scrollSteps: number;
  /** Main-thread tasks over 50 ms during the scroll, and the longest. */
  longTasksWhileScrolling: number;
  longestTaskMs: number;
  /** Main-thread script, and style and layout, per scroll step (Chromium's own counters), ms. */
  scriptPerStepMs: number;
  layoutPerStepMs: number;
  /** Timeline rows in the DOM at once. */
  rowsInDom: number;
  /** Elements in the whole page. */
  domNodes: number;
  jsHeapMb: number;
}

async function main(dir: string): Promise<void> {
  const dev = spawn(
    process.execPath,
    [join(ROOT, 'bin/millrace.js'), 'dev', '--port', '0', '--db', join(dir, 'ui.db')],
    {
      cwd: ROOT,
      env: { ...process.env, MILLRACE_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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
  const browser = await launchChromium();
  const figures: UiFigures[] = [];
  try {
    for (const children of SIZES) {
      const id = await (
        await fetch(`${url}/api/w/default/jobs/run/p/__tests__/fixtures/fan-out`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ children }),
        })
      ).text();
      await (await fetch(`${url}/api/w/default/jobs_u/logs/${id}?follow=true`, { headers })).text(); // ends with the run
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const started = performance.now();
      await page.goto(`${url}/#/run/${id}`);
      await page.waitForSelector(`.tl-summary:text("${children} jobs")`);
      const firstDrawMs = Math.round(performance.now() - started);
      const cdp = await page.context().newCDPSession(page);
      await cdp.send('Performance.enable');
      const metric = async () => {
        const { metrics: m } = await cdp.send('Performance.getMetrics');
        const get = (name: string) => m.find((x) => x.name === name)?.value ?? 0;
        return {
          script: get('ScriptDuration'),
          layout: get('LayoutDuration') + get('RecalcStyleDuration'),
          heap: get('JSHeapUsedSize'),
        };
      };
      const before = await metric();
      // Scroll one screen at a time; each step waits for the frame that draws the new rows.
      const { steps, longTasks } = await page.evaluate(async () => {
        const scroller = document.getElementById('timeline-rows')!;
        const times: number[] = [];
        // Tasks over 50 ms are what a user feels as a stuck tab.
        const longTasks: number[] = [];
        const observer = new PerformanceObserver((list) =>
          list.getEntries().forEach((e) => longTasks.push(e.duration)),
        );
        observer.observe({ type: 'longtask' });
        while (scroller.scrollTop + scroller.clientHeight < scroller.scrollHeight - 1) {
          const t = performance.now();
          scroller.scrollTop += scroller.clientHeight;
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          times.push(performance.now() - t);
        }
        await new Promise((r) => setTimeout(r, 100));
        observer.disconnect();
        return { steps: times.sort((a, b) => a - b), longTasks };
      });
      const metrics = await page.evaluate(() => ({
        rows: document.querySelectorAll('#timeline .tl-row').length,
        nodes: document.getElementsByTagName('*').length,
      }));
      const after = await metric();
      const perStep = (d: number) => Math.round(((d * 1000) / Math.max(1, steps.length)) * 10) / 10;
      figures.push({
        children,
        firstDrawMs,
        scrollStepP50Ms: Math.round(steps[Math.floor(steps.length / 2)] ?? 0),
        scrollStepMaxMs: Math.round(steps[steps.length - 1] ?? 0),
        scrollSteps: steps.length,
        longTasksWhileScrolling: longTasks.length,
        longestTaskMs: Math.round(Math.max(0, ...longTasks)),
        rowsInDom: metrics.rows,
        domNodes: metrics.nodes,
        scriptPerStepMs: perStep(after.script - before.script),
        layoutPerStepMs: perStep(after.layout - before.layout),
        jsHeapMb: Math.round((after.heap / 1024 / 1024) * 10) / 10,
      });
      await page.close();
    }
  } finally {
    await browser.close();
    dev.kill('SIGTERM');
  }
  say(
    'children  first draw ms  scroll steps  step p50 ms  step max ms  script/step ms  layout/step ms  long tasks  longest ms  rows in DOM  DOM nodes  JS heap MB',
  );
  const cell = (v: number, w: number) => String(v).padStart(w);
  for (const f of figures) {
    say(
      `${cell(f.children, 8)}  ${cell(f.firstDrawMs, 13)}  ${cell(f.scrollSteps, 12)}  ${cell(f.scrollStepP50Ms, 11)}  ${cell(f.scrollStepMaxMs, 11)}  ${cell(f.scriptPerStepMs, 14)}  ${cell(f.layoutPerStepMs, 14)}  ${cell(f.longTasksWhileScrolling, 10)}  ${cell(f.longestTaskMs, 10)}  ${cell(f.rowsInDom, 11)}  ${cell(f.domNodes, 9)}  ${cell(f.jsHeapMb, 10)}`,
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
