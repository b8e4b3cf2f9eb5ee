import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { TooLargeError } from '../lib/errors.js';
import {
  checkValueSize,
  cutErrorRecord,
  cutLogLine,
  ERROR_TEXT_LIMIT,
  LOG_LINE_LIMIT,
  REPORT_BUDGET,
  VALUE_LIMIT,
  BODY_LIMIT,
} from '../lib/limits.js';
import { callRuns, packReports, reportBody, splitLines, type EncodedReport } from '../lib/worker/report-batches.js';
import { openTestEngine, runToEnd } from './helpers/engine.js';
import { expectExitIsolated, expectSizesKept } from './helpers/limits.js';

/** Sizes, process.exit and long timeouts, embedded; and the size rules themselves. */

const cleanups: (() => unknown)[] = [];
let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await engine?.close();
  engine = undefined;
});

describe('the size rules', () => {
  it('fit together: a value or a cut line, in a report, stays under the body limit', () => {
    expect(VALUE_LIMIT).toBeLessThan(REPORT_BUDGET);
    expect(REPORT_BUDGET).toBeLessThan(BODY_LIMIT);
    // A line of control characters is the worst JSON can do to it: 6 bytes each.
    expect(JSON.stringify(cutLogLine('\u0001'.repeat(LOG_LINE_LIMIT + 10))).length).toBeLessThan(REPORT_BUDGET);
  });

  it('checkValueSize names the size and the limit', () => {
    expect(checkValueSize('abc', 'x')).toBe(5);
    const err = (() => {
      try {
        checkValueSize('é'.repeat(100), 'The result of job j', 150);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TooLargeError);
    expect(err).toMatchObject({ code: 'TOO_LARGE', size: 202, limit: 150 });
    expect((err as Error).message).toMatch(/^The result of job j is 202 bytes as JSON, over the limit of 150 bytes\. /);
  });

  it('cutLogLine keeps whole characters within the limit, says how much it cut, and leaves a cut line as it is', () => {
    expect(cutLogLine('short', 100)).toBe('short');
    const line = '€'.repeat(100); // 300 bytes
    const cut = cutLogLine(line, 100);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(100);
    const m = /^(€*)… \[cut (\d+) bytes\]$/.exec(cut)!;
    expect(Buffer.byteLength(m[1]) + Number(m[2])).toBe(300);
    expect(cutLogLine(cut, 100)).toBe(cut);
  });

  it('cutErrorRecord cuts a huge message and stack, and leaves others as they are', () => {
    const small = { name: 'Error', message: 'm', stack: 's' };
    expect(cutErrorRecord(small)).toBe(small);
    const huge = cutErrorRecord({
      name: 'Error',
      message: 'm'.repeat(ERROR_TEXT_LIMIT * 2),
      stack: 's'.repeat(ERROR_TEXT_LIMIT * 2),
    });
    expect(Buffer.byteLength(huge.message)).toBeLessThanOrEqual(ERROR_TEXT_LIMIT);
    expect(huge.stack).toMatch(/… \[cut \d+ bytes\]$/);
  });

  it('packs reports in order into bodies under the budget; one too large goes alone', () => {
    const item = (bytes: number): EncodedReport => ({
      jobId: 'j',
      text: JSON.stringify('x'.repeat(bytes - 2)),
      bytes,
      resolve() {},
      reject() {},
    });
    const items = [item(40), item(40), item(40), item(200), item(40)];
    const packs = packReports(items, 100);
    expect(packs.map((p) => p.length)).toEqual([2, 1, 1, 1]);
    expect(packs.flat()).toEqual(items);
    const idField = '"worker_id":"w1",'.length;
    for (const p of packs)
      if (p.length > 1) expect(Buffer.byteLength(reportBody('w1', p)) - idField).toBeLessThanOrEqual(100);
    expect(JSON.parse(reportBody('w1', packs[0]))).toEqual({
      worker_id: 'w1',
      events: ['x'.repeat(38), 'x'.repeat(38)],
    });
  });

  it('splits a job’s lines into runs that fit, in order, none lost', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => ({ ts: i, stream: 'stdout' as const, line: `line ${i}` }));
    const runs = splitLines(lines, 10_000);
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.flat()).toEqual(lines);
    for (const run of runs) expect(Buffer.byteLength(JSON.stringify(run))).toBeLessThanOrEqual(10_000);
  });
});

describe('task calls', () => {
  it('a fan-out whose args together exceed a request goes in runs that fit, in order', () => {
    const call = (n: number) => ({ n, body: { args: ['a'.repeat(4 * 1024 * 1024)] } });
    const calls = [call(0), call(1), call(2), { n: 3, body: { args: [1] } }];
    const runs = callRuns(calls, 9 * 1024 * 1024);
    expect(runs.map((r) => r.map((c) => c.n))).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });
});

describe('limits, embedded', () => {
  it('fails an 11 MiB result once with TooLargeError; 50,000 lines kept; a long line cut with a marker', async () => {
    engine = openTestEngine({ threads: 1, concurrency: 4 });
    await expectSizesKept(engine);
  }, 120_000);

  it('fails the job that called process.exit(1); a run sharing its thread completes, its child not canceled', async () => {
    engine = openTestEngine({ threads: 1, concurrency: 4 });
    await expectExitIsolated(engine, (c) => cleanups.push(c));
  });

  it('runs a task with a timeout of 2,200,000 s to its end', async () => {
    engine = openTestEngine({ threads: 1, concurrency: 2 });
    const server = createServer((_req, res) => res.end('answered'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/long-timeout', {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    });
    expect({ status: root.status, result: root.result, error: root.error?.message }).toEqual({
      status: 'success',
      result: 'patient: answered',
      error: undefined,
    });
    expect(descendants[0]).toMatchObject({ entrypoint: 'patient', timeout: 2_200_000, status: 'success', attempt: 1 });
  });
});
