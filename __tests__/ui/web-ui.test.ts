import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { TreeReply } from '../../lib/http/wire.js';
import type { JobRecord } from '../../lib/types.js';
import { launchChromium } from '../helpers/browser.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/**
 * The web UI in a real browser (Debian's chromium) against `millrace dev`, a real server
 * and worker process on a free loopback port. `dev` hands the UI its token, so no login here;
 * the login form is tested against `millrace server` in login.test.ts.
 */

const DOCS = join(REPO_ROOT, 'docs');

describe('the web UI', () => {
  let dev: Proc;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const api = apiCaller(() => url);
  const submit = (path: string, args: Record<string, unknown>) =>
    api<string>('POST', `/api/w/default/jobs/run/p/${path}`, args);
  /** Resolves when the job has ended: its followed log closes then. */
  const finished = async (id: string) => {
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    return api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
  };
  const rows = (p: Page) =>
    p.$$eval('#timeline .tl-row', (els) =>
      els.map((e) => ({
        id: (e as HTMLElement).dataset.jobId,
        name: (e as HTMLElement).dataset.name,
        status: (e as HTMLElement).dataset.status,
        bar: e.querySelector('.tl-bar')?.getAttribute('href') ?? null,
        indent: parseFloat((e.querySelector('.tl-label') as HTMLElement).style.paddingLeft),
      })),
    );

  beforeAll(async () => {
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], { MILLRACE_TOKEN: TEST_TOKEN });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await dev?.kill();
  });

  it('lists every attempt of a retried task, and who canceled a job', async () => {
    const id = await submit('__tests__/fixtures/retries', { which: 'all' });
    const { descendants } = await finished(id);
    const third = descendants.find((j) => j.entrypoint === 'thirdTime')!;
    await page.goto(`${url}/#/run/${third.id}`);
    await page.waitForSelector('#attempts tbody tr[data-attempt="3"]');
    const attempts = await page.$$eval('#attempts tbody tr', (trs) =>
      trs.map((tr) => [
        (tr as HTMLElement).dataset.attempt,
        (tr as HTMLElement).dataset.status,
        tr.querySelector('.attempt-error')!.textContent,
      ]),
    );
    expect(attempts).toEqual([
      ['1', 'failure', 'Error: attempt 1 fails'],
      ['2', 'failure', 'Error: attempt 2 fails'],
      ['3', 'success', ''],
    ]);
    // A task that failed on its only attempt has no attempts table.
    const refuses = descendants.find((j) => j.entrypoint === 'refuses')!;
    await page.goto(`${url}/#/run/${refuses.id}`);
    await page.waitForSelector('#error');
    expect(await page.$('#attempts')).toBeNull();

    const long = await submit('__tests__/fixtures/durable', { which: 'sleep', counter: '' });
    await api('POST', `/api/w/default/jobs_u/queue/cancel/${long}`, { reason: 'from the test' });
    await finished(long);
    await page.goto(`${url}/#/run/${long}`);
    await page.waitForSelector('#canceled-by');
    expect(await page.textContent('#canceled-by')).toBe('canceled by MILLRACE_TOKEN');
    expect(await page.textContent('#error')).toContain('from the test');
  });

  it('shows the seed example: one bar per child, and "Sending result" marked with its sendResult job', async () => {
    const id = await submit('examples/heavy', { n: 3 });
    const { descendants } = await finished(id);
    const children = descendants.map((j) => ({ id: j.id, name: j.entrypoint, status: j.status }));
    expect(children.map((c) => c.name)).toEqual(['heavyCompute', 'heavyCompute', 'heavyCompute', 'sendResult']);
    const sendResult = children[3];

    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('h1 .badge[data-status=success]');
    await page.waitForFunction(() => document.querySelectorAll('#timeline .tl-row').length === 4);
    const drawn = await rows(page);
    expect(drawn.map(({ id, name, status }) => ({ id, name, status }))).toEqual(children);
    for (const r of drawn) expect(r.bar).toBe(`#/run/${r.id}`);

    const line = page.locator('.log-line', { hasText: 'Sending result' });
    await line.waitFor();
    const marker = line.locator('.log-src');
    expect(await marker.getAttribute('href')).toBe(`#/run/${sendResult.id}`);
    expect(await marker.textContent()).toBe(`sendResult ${sendResult.id.slice(0, 8)}`);
    // Lines the parent printed itself carry no marker.
    expect(await page.locator('.log-line:not([data-source])').count()).toBeGreaterThan(0);

    // The tree: the same children, each linking to its job.
    expect(await page.$$eval('#tree li', (lis) => lis.map((li) => (li as HTMLElement).dataset.jobId))).toEqual(
      children.map((c) => c.id),
    );

    // Hovering a bar tells about that job; clicking it opens it.
    await page.hover(`.tl-row[data-job-id="${children[0].id}"] .tl-bar`);
    await expect(page.locator('.tl-tip').textContent()).resolves.toContain(children[0].id);
    await page.click(`.tl-row[data-job-id="${children[0].id}"] .tl-bar`);
    await page.waitForSelector(`#job-id:text("${children[0].id}")`);
    expect(await page.locator('h1').textContent()).toContain('heavyCompute');

    // The log marker opens the sendResult job, whose own log holds the line, unmarked.
    await page.goto(`${url}/#/run/${id}`);
    await page.locator('.log-line', { hasText: 'Sending result' }).locator('.log-src').click();
    await page.waitForSelector(`#job-id:text("${sendResult.id}")`);
    await page.locator('.log-line', { hasText: 'Sending result' }).waitFor();
    expect(await page.locator('.log-line .log-src').count()).toBe(0);
  });

  it('indents nested descendants under their parent (and writes docs/ui-run.png)', async () => {
    const id = await submit('examples/nested', { width: 2 });
    const { descendants } = await finished(id);
    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('h1 .badge[data-status=success]');
    await page.waitForFunction((n) => document.querySelectorAll('#timeline .tl-row').length === n, descendants.length);
    const drawn = await rows(page);
    const depth = (j: JobRecord) => j.path.split('/').length - 2;
    const byId = new Map(descendants.map((j) => [j.id, j]));
    for (const r of drawn) expect(r.indent).toBe(8 + 14 * depth(byId.get(r.id!)!));
    // Each job comes right after its parent or a sibling: depth first.
    drawn.forEach((r, i) => {
      const parent = byId.get(r.id!)!.parentJob;
      if (parent !== id) expect(drawn.slice(0, i).map((x) => x.id)).toContain(parent);
    });
    expect(drawn.map((r) => r.name).slice(0, 3)).toEqual(['region', 'city', 'measure']);
    await page.locator('.log-line').first().waitFor();
    await page.screenshot({ path: join(DOCS, 'ui-run.png'), fullPage: true });
  });

  it('runs a script from the form: a wrong number is refused without a submission, a right one lands on the run', async () => {
    const posts: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST') posts.push(r.url());
    });
    const before = await api<JobRecord[]>('GET', '/api/w/default/jobs/records?roots_only=true&limit=1000');

    await page.goto(`${url}/#/new`);
    await page.waitForSelector('#script option[value="examples/heavy"]', { state: 'attached' });
    await page.selectOption('#script', 'examples/heavy');
    await page.fill('#arg-n', 'abc');
    await page.click('#submit');
    await expect(page.locator('#arg-n-error').textContent()).resolves.toBe('expected a number, got "abc"');
    expect(await page.locator('#form-error').textContent()).toBe('Fix this field first.');
    await page.fill('#arg-n', '');
    await page.click('#submit');
    await expect(page.locator('#arg-n-error').textContent()).resolves.toBe('required: expected number');
    expect(posts).toEqual([]);
    expect(await api<JobRecord[]>('GET', '/api/w/default/jobs/records?roots_only=true&limit=1000')).toHaveLength(
      before.length,
    );

    await page.fill('#arg-n', '2');
    await page.click('#submit');
    await page.waitForURL(/#\/run\/[\w-]+$/);
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/run/', ''));
    expect(posts).toEqual([`${url}/api/w/default/jobs/run/p/examples/heavy`]);
    const job = await api<JobRecord>('GET', `/api/w/default/jobs_u/record/${id}`);
    expect(job.scriptPath).toBe('examples/heavy');
    expect(job.args).toEqual({ n: 2 });
    await page.waitForSelector('h1 .badge[data-status=success]');
    await page.waitForFunction(() => document.querySelectorAll('#timeline .tl-row[data-status=success]').length === 3);
    await expect(page.locator('#result').textContent()).resolves.toContain('"OK"');
  });

  it('draws the form from any signature: booleans, JSON objects and arrays checked, choices for unions', async () => {
    const posts: string[] = [];
    const onRequest = (r: { method(): string; url(): string }) => void (r.method() === 'POST' && posts.push(r.url()));
    page.on('request', onRequest);
    await page.goto(`${url}/#/new?path=__tests__/fixtures/form-args`);
    await page.waitForSelector('#arg-mood');
    expect(await page.locator('#arg-loud').getAttribute('type')).toBe('checkbox');
    expect(await page.$$eval('#arg-mood option', (os) => os.map((o) => o.textContent))).toEqual([
      '(leave out)',
      'calm',
      'busy',
    ]);
    expect(await page.locator('#arg-mood').inputValue()).toBe('"calm"'); // the default
    await page.fill('#arg-name', 'Ada');
    await page.check('#arg-loud');
    await page.fill('#arg-options', '{"times": 2');
    await page.fill('#arg-tags', '{"a": 1}');
    await page.click('#submit');
    await expect(page.locator('#arg-options-error').textContent()).resolves.toMatch(/^expected JSON \(object\): /);
    expect(await page.locator('#arg-tags-error').textContent()).toBe('expected an array, got an object');
    expect(await page.locator('#form-error').textContent()).toBe('Fix these 2 fields first.');
    await page.fill('#arg-options', '{}');
    await page.click('#submit');
    await expect(page.locator('#arg-options-error').textContent()).resolves.toBe('missing "times"');
    expect(posts).toEqual([]);

    await page.fill('#arg-options', '{"times": 2}');
    await page.fill('#arg-tags', '["x", "y"]');
    await page.selectOption('#arg-mood', '"busy"');
    await page.click('#submit');
    await page.waitForURL(/#\/run\/[\w-]+$/);
    page.off('request', onRequest);
    expect(posts).toHaveLength(1);
    await page.waitForSelector('h1 .badge[data-status=success]');
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#/run/', ''));
    const job = await api<JobRecord>('GET', `/api/w/default/jobs_u/record/${id}`);
    expect(job.result).toEqual({ name: 'Ada', loud: true, options: { times: 2 }, tags: ['x', 'y'], mood: 'busy' });
  });

  it('cancels a long run from its page: the run and its children show as canceled', async () => {
    const id = await submit('__tests__/fixtures/long', { children: 2 });
    await page.goto(`${url}/#/run/${id}`);
    // Both children are running before the click.
    await page.waitForFunction(() => document.querySelectorAll('#timeline .tl-row[data-status=running]').length === 2);
    // The log is live: the children's first lines arrive while they still run.
    await page.locator('.log-line', { hasText: 'waiting 0' }).waitFor();
    await page.locator('.log-line', { hasText: 'waiting 1' }).waitFor();
    expect(await page.locator('#log-state').textContent()).toBe('live');
    page.once('dialog', (d) => void d.accept());
    await page.click('#cancel');
    await page.waitForSelector('h1 .badge[data-status=canceled]');
    await page.waitForFunction(() => document.querySelectorAll('#timeline .tl-row[data-status=canceled]').length === 2);
    expect(await page.locator('#cancel').count()).toBe(0);
    expect(await page.locator('#error').textContent()).toContain('canceled from the web UI');

    const { job, descendants } = await api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
    expect(job.status).toBe('canceled');
    expect(descendants.map((d) => d.status)).toEqual(['canceled', 'canceled']);
  });

  it('filters the runs page by status (and writes docs/ui-runs.png)', async () => {
    const failed = await submit('__tests__/fixtures/failing', { catchIt: false });
    const succeeded = await submit('__tests__/fixtures/failing', { catchIt: true });
    await Promise.all([finished(failed), finished(succeeded)]);

    await page.goto(`${url}/#/runs`);
    await page.waitForSelector(`#runs tr[data-job-id="${failed}"]`);
    await page.waitForSelector(`#runs tr[data-job-id="${succeeded}"]`);
    await page.screenshot({ path: join(DOCS, 'ui-runs.png') });
    const shown = () =>
      page.$$eval('#runs tbody tr', (trs) =>
        trs.map((tr) => ({ id: (tr as HTMLElement).dataset.jobId, status: (tr as HTMLElement).dataset.status })),
      );

    /** Selects a status and returns the rows once they are the runs the API lists with it. */
    const filterBy = async (status: string) => {
      const runs = await api<JobRecord[]>(
        'GET',
        `/api/w/default/jobs/records?roots_only=true&status=${status}&limit=50`,
      );
      const expected = runs.map((j) => j.id).sort();
      await page.selectOption('#filter-status', status);
      await page.waitForURL(new RegExp(`status=${status}`));
      // Wait for exactly these rows: the unfiltered list holds some of them too, and an empty
      // table (while the filtered list loads) holds no other status either.
      await page
        .waitForFunction(
          (ids) =>
            [...document.querySelectorAll('#runs tbody tr')]
              .map((tr) => (tr as HTMLElement).dataset.jobId)
              .sort()
              .join() === ids.join(),
          expected,
          { timeout: 10_000 },
        )
        .catch(() => undefined); // on a timeout, the assertions say what was shown instead
      const list = await shown();
      expect(list.map((r) => r.id).sort()).toEqual(expected);
      expect(list.every((r) => r.status === status)).toBe(true);
      return list.map((r) => r.id);
    };

    let ids = await filterBy('failure');
    expect(ids).toContain(failed);
    expect(ids).not.toContain(succeeded);

    // Exactly the canceled runs of the earlier tests, as the API lists them.
    ids = await filterBy('canceled');
    expect(ids.length).toBeGreaterThan(0);
    expect(ids).not.toContain(failed);

    // The path filter, on top: no canceled run of the failing script.
    await page.fill('#filter-path', '__tests__/fixtures/failing');
    await page.click('#filters button[type=submit]');
    await page.waitForURL(/path=/);
    await page.waitForSelector('#runs-note:text("No runs match.")');
  });

  it('pages through the runs, and shows a new run without a reload', async () => {
    await page.goto(`${url}/#/runs?limit=2`);
    const ids = () => page.$$eval('#runs tbody tr', (trs) => trs.map((tr) => (tr as HTMLElement).dataset.jobId!));
    await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 2);
    const newest = await api<JobRecord[]>('GET', '/api/w/default/jobs/records?roots_only=true&limit=4');
    expect(await ids()).toEqual(newest.slice(0, 2).map((j) => j.id));
    await page.click('#older');
    await page.waitForURL(/before=/);
    await page.waitForFunction(
      (first) => document.querySelector('#runs tbody tr')?.getAttribute('data-job-id') === first,
      newest[2].id,
    );
    expect(await ids()).toEqual(newest.slice(2, 4).map((j) => j.id));
    await page.click('#newest');
    await page.waitForFunction(
      (first) => document.querySelector('#runs tbody tr')?.getAttribute('data-job-id') === first,
      newest[0].id,
    );

    // The list refreshes itself: a run submitted elsewhere appears on top.
    const fresh = await submit('examples/heavy', { n: 1 });
    await page.waitForFunction(
      (first) => document.querySelector('#runs tbody tr')?.getAttribute('data-job-id') === first,
      fresh,
    );
    await finished(fresh);
  });

  it('draws a run of 1,000 children with only the rows in view in the page', async () => {
    const id = await submit('__tests__/fixtures/fan-out', { children: 1000 });
    await finished(id);
    const started = Date.now();
    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('.tl-summary:text("1000 jobs")');
    const drawnIn = Date.now() - started;
    const inDom = await page.locator('#timeline .tl-row').count();
    expect(inDom).toBeGreaterThan(10);
    expect(inDom).toBeLessThan(60);
    // Scrolled to the end, the last child is drawn (rows are made as they come into view).
    await page.$eval('#timeline-rows', (e) => (e.scrollTop = e.scrollHeight));
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLElement>('#timeline .tl-row')].some((r) => r.style.top === `${999 * 24}px`),
    );
    expect(await page.locator('#timeline .tl-row').count()).toBeLessThan(60);
    // The tab stays responsive: a click on the nav lands at once.
    await page.click('[data-nav=runs]');
    await page.waitForSelector('#runs');
    console.log(`UI: a run of 1,000 children drawn in ${drawnIn} ms (navigation to timeline summary)`);
  }, 240_000);

  it("shows a failed run's error with its stack, and the failed child", async () => {
    const id = await submit('__tests__/fixtures/failing', { catchIt: false });
    const { descendants } = await finished(id);
    const [explode] = descendants;
    await page.goto(`${url}/#/run/${id}`);
    await page.waitForSelector('h1 .badge[data-status=failure]');
    const error = page.locator('#error');
    await expect(error.locator('p').first().textContent()).resolves.toMatch(
      /^TaskError: Job \S+ \(explode, tag default\) failed on attempt 1 of 1: TypeError: cannot handle uncaught$/,
    );
    expect(await error.locator('a').getAttribute('href')).toBe(`#/run/${explode.id}`);
    const stack = await error.locator('.stack').textContent();
    expect(stack).toContain('Caused by TypeError: cannot handle uncaught');
    expect(stack).toContain('__tests__/fixtures/failing.ts');
    expect(await page.locator('#result').count()).toBe(0);
    await page.waitForSelector(`#timeline .tl-row[data-job-id="${explode.id}"][data-status=failure]`);
    await expect(page.locator('.values .card').first().textContent()).resolves.toContain('"catchIt": false');
  });

  it('lists the dev worker on the workers page, serving every tag', async () => {
    await page.goto(`${url}/#/workers`);
    const row = page.locator('#workers tbody tr');
    await row.first().waitFor();
    expect(await row.count()).toBe(1);
    expect(await row.locator('.tag').textContent()).toBe('every tag');
    expect(dev.output()).toContain(`worker ${await row.getAttribute('data-worker')} (every tag)`);
  });

  it('stays readable in a narrow window: nothing wider than the screen', async () => {
    const narrow = await context.newPage();
    await narrow.setViewportSize({ width: 390, height: 800 });
    for (const hash of ['#/runs', '#/new', '#/workers']) {
      await narrow.goto(`${url}/${hash}`);
      await narrow.waitForSelector('main > *');
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
    const [run] = await api<JobRecord[]>(
      'GET',
      '/api/w/default/jobs/records?roots_only=true&script_path=examples/nested',
    );
    await narrow.goto(`${url}/#/run/${run.id}`);
    await narrow.waitForSelector('#timeline .tl-row');
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await narrow.close();
  });
});
