import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from '../lib/serialize.js';
import { testEngine } from '../lib/testing/engine.js';
import { REPO_ROOT } from './helpers/engine.js';

/** A Windmill workflow's durable sleep, tested with millrace/testing's clock (docs/windmill.md). */
describe('a Windmill workflow on the test clock', () => {
  it('sleeps three days in no time: the sleep ends when the test moves the clock', async () => {
    await using t = await testEngine({ root: REPO_ROOT });
    const job = await t.submit({ path: '__tests__/fixtures/windmill/reminder', args: { who: 'ada' } });
    await t.settled(); // it ran up to its sleep
    expect((await t.engine.get(job.id))!.status).toBe('running');
    const sleeping = (await t.engine.descendants(job.id)).find((j) => j.kind === 'sleep')!;
    expect(sleeping).toMatchObject({ status: 'queued', scheduledFor: t.now() + 3 * 24 * 3600 * 1000 });
    await t.advance('3d');
    const done = await t.wait(job.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe('reminded ada');
  });

  it("waits a retry's backoff as a durable sleep: the second try runs when the hour has passed", async () => {
    const runs = join(mkdtempSync(join(tmpdir(), 'millrace-wac-')), 'runs.txt');
    writeFileSync(runs, '');
    await using t = await testEngine({ root: REPO_ROOT });
    const job = await t.submit({ path: '__tests__/fixtures/windmill/backoff', args: { runs } });
    await t.settled(); // the first try failed; the backoff sleeps
    const sleeping = (await t.engine.descendants(job.id)).find((j) => j.kind === 'sleep')!;
    expect(sleeping).toMatchObject({ status: 'queued', scheduledFor: t.now() + 3600 * 1000 });
    expect(readFileSync(runs, 'utf8')).toBe('fetchOrders\n');
    await t.advance('1h');
    const done = await t.wait(job.id);
    expect(decode(done.result!)).toEqual({ tries: 2 });
    const tries = (await t.engine.descendants(job.id)).filter((j) => j.entrypoint === 'fetchOrders');
    expect(tries.map((j) => j.status).sort()).toEqual(['failure', 'success']);
  });
});
