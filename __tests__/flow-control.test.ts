import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { TaskDefinitionError } from '../lib/errors.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { task } from '../lib/task/task.js';
import type { JobRecord } from '../lib/types.js';
import { testEngine } from '../lib/testing.js';
import { openTestEngine, REPO_ROOT, runToEnd, tempDb } from './helpers/engine.js';
import { maxOverlap, maxStartsPerWindow } from './helpers/overlap.js';

const FIXTURE = '__tests__/fixtures/flow-control';

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

/** The claim time of each job's first attempt, read from the store the engine writes. */
async function claimTimes(db: string, jobs: readonly JobRecord[]): Promise<number[]> {
  const store = new SqliteStore({ file: db });
  try {
    return await Promise.all(jobs.map(async (j) => (await store.attempts(j.id))[0].claimedAt));
  } finally {
    await store.close();
  }
}

describe('concurrency limits', () => {
  it('runs at most 3 calls of a key at once, and reaches 3, across 2 keys (embedded)', async () => {
    // 8 slots: the store's limit (2 keys × 3) binds, not the worker's slots.
    engine = openTestEngine({ concurrency: 8 });
    const { root, descendants } = await runToEnd(engine, FIXTURE, { mode: 'limit', count: 12, ms: 150 });
    expect(root.status).toBe('success');
    expect(descendants).toHaveLength(12);
    for (const key of ['api:stripe', 'api:github']) {
      const ofKey = descendants.filter((j) => j.flowControl?.concurrency?.key === key);
      expect(ofKey).toHaveLength(6);
      expect(maxOverlap(ofKey)).toBe(3);
    }
  });

  it('a window limit spaces starts: at most 2 per second, 6 calls take at least 2 s', async () => {
    const db = tempDb();
    engine = openTestEngine({ concurrency: 8, db });
    const { root, descendants } = await runToEnd(engine, FIXTURE, { mode: 'window', count: 6 });
    expect(root.status).toBe('success');
    const starts = await claimTimes(db, descendants);
    expect(maxStartsPerWindow(starts, 1000)).toBe(2);
    expect(Math.max(...starts) - Math.min(...starts)).toBeGreaterThanOrEqual(2000);
  });
});

describe("a script's exported config", () => {
  it('limits its runs: 3 runs with limit 1 never overlap; the key is the script path', async () => {
    engine = openTestEngine({ concurrency: 4 });
    const jobs = await Promise.all(
      [0, 1, 2].map(() => engine!.submit({ path: '__tests__/fixtures/flow-config', args: { ms: 100 } })),
    );
    const done = await Promise.all(jobs.map((j) => engine!.wait(j.id)));
    expect(done.map((j) => j.status)).toEqual(['success', 'success', 'success']);
    expect(done[0].flowControl).toEqual({
      priority: 3,
      concurrency: { key: '__tests__/fixtures/flow-config', limit: 1 },
    });
    expect(done[0].priority).toBe(3);
    expect(maxOverlap(done)).toBe(1);
  });

  it('refuses a run of a script whose config is bad, naming the option', async () => {
    engine = openTestEngine();
    await expect(engine.submit({ path: '__tests__/fixtures/flow-config-bad' })).rejects.toThrow(
      /__tests__\/fixtures\/flow-config-bad: config\.concurrency\.limit must be a positive integer, got number 0/,
    );
  });
});

describe('rate limits', () => {
  it('5 per second over 20 calls takes at least 3 s, with no more than 5 starts in any second', async () => {
    const db = tempDb();
    engine = openTestEngine({ concurrency: 8, db });
    const { root, descendants } = await runToEnd(engine, FIXTURE, { mode: 'rate', count: 20 });
    expect(root.status).toBe('success');
    const starts = (await claimTimes(db, descendants)).sort((a, b) => a - b);
    expect(starts.at(-1)! - starts[0]).toBeGreaterThanOrEqual(3000);
    expect(maxStartsPerWindow(starts, 1000)).toBeLessThanOrEqual(5);
    // Spread out, not bursted: 200 ms at least between two starts.
    for (let i = 1; i < starts.length; i++) expect(starts[i] - starts[i - 1]).toBeGreaterThanOrEqual(200);
    // The delay is recorded: a later call was due later than it was created.
    const last = descendants.find((j) => j.args && (j.args as number[])[0] === 19)!;
    expect(last.scheduledFor).toBeGreaterThan(last.createdAt);
  });
});

describe('the result cache', () => {
  it('a second call within the TTL does not run the body; the job is marked cached from the first', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-cache-')), 'runs.txt');
    engine = openTestEngine();
    const first = await runToEnd(engine, FIXTURE, { mode: 'cache', count: 21, file });
    const second = await runToEnd(engine, FIXTURE, { mode: 'cache', count: 21, file });
    expect(first.root.result).toBe(42);
    expect(second.root.result).toBe(42);
    expect(readFileSync(file, 'utf8')).toBe('ran 21\n');
    expect(second.descendants[0]).toMatchObject({ status: 'success', cachedFrom: first.descendants[0].id, result: 42 });
    // Other args: a run.
    await runToEnd(engine, FIXTURE, { mode: 'cache', count: 22, file });
    expect(readFileSync(file, 'utf8')).toBe('ran 21\nran 22\n');
  });

  it('a call after the TTL runs the body again: the TTL runs on the engine clock (test clock, no real wait)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-cache-')), 'runs.txt');
    const t = await testEngine({ root: REPO_ROOT });
    try {
      const run = () => runToEnd(t.engine, FIXTURE, { mode: 'brief', count: 1, file });
      const first = await run();
      // Its end is stamped with the engine's time, which stands still until the test moves it.
      expect(first.descendants[0].completedAt).toBe(t.now());
      // The TTL is 0.5 s: 400 ms later, the equal call is served from the cache…
      await t.advance(400);
      const within = await run();
      expect(within.descendants[0]).toMatchObject({ cachedFrom: first.descendants[0].id, result: 3 });
      expect(readFileSync(file, 'utf8')).toBe('ran 1\n');
      // …and 501 ms after the first one ended, it runs again.
      await t.advance(101);
      const after = await run();
      expect(after.descendants[0].cachedFrom).toBeNull();
      expect(readFileSync(file, 'utf8')).toBe('ran 1\nran 1\n');
    } finally {
      await t.close();
    }
  });

  it('a changed script runs the body again', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mr-cache-project-'));
    mkdirSync(join(root, 'node_modules'));
    symlinkSync(REPO_ROOT, join(root, 'node_modules', 'millrace'), 'dir');
    writeFileSync(join(root, 'package.json'), JSON.stringify({ name: 'cache', type: 'module' }));
    const file = join(root, 'runs.txt');
    const write = (version: number) =>
      writeFileSync(
        join(root, 'main.ts'),
        `import { appendFileSync } from 'node:fs';\nimport { task } from 'millrace';\n// version ${version}\n` +
          `export const work = task(async function work(n: number) { appendFileSync(${JSON.stringify(file)}, 'ran\\n'); return n; }, { cacheTtl: 3600 });\n` +
          `export async function main() { return work(1); }\n`,
      );
    engine = openTestEngine({ root });
    write(1);
    await runToEnd(engine, 'main');
    const cached = await runToEnd(engine, 'main');
    expect(cached.descendants[0].cachedFrom).not.toBeNull();
    expect(readFileSync(file, 'utf8')).toBe('ran\n');
    write(2);
    const changed = await runToEnd(engine, 'main');
    expect(changed.descendants[0].cachedFrom).toBeNull();
    expect(readFileSync(file, 'utf8')).toBe('ran\nran\n');
  });
});

describe('flow modules', () => {
  it("take Windmill's concurrency_limit, concurrency_key, priority and cache_ttl", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mr-flow-cache-')), 'runs.txt');
    engine = openTestEngine();
    const first = await runToEnd(engine, '__tests__/fixtures/flows/flow-control.flow.yaml', { file });
    expect(first.root.status).toBe('success');
    const limited = first.descendants.find((j) => j.entrypoint === 'limited')!;
    expect(limited.flowControl).toEqual({ priority: 4, concurrency: { key: 'flows:echo', limit: 2 } });
    const second = await runToEnd(engine, '__tests__/fixtures/flows/flow-control.flow.yaml', { file });
    const cached = second.descendants.find((j) => j.entrypoint === 'cached')!;
    expect(cached).toMatchObject({
      status: 'success',
      result: 'computed',
      cachedFrom: first.descendants.find((j) => j.entrypoint === 'cached')!.id,
    });
    expect(readFileSync(file, 'utf8')).toBe('ran\n');
  });

  it('refuses a bad module option, naming the field', async () => {
    engine = openTestEngine();
    const root = mkdtempSync(join(tmpdir(), 'mr-flow-bad-'));
    writeFileSync(
      join(root, 'bad.flow.yaml'),
      'summary: bad\nschema: { type: object }\nvalue:\n  modules:\n    - id: a\n      concurrency_limit: 0\n      value: { type: identity }\n',
    );
    await engine.close();
    engine = openTestEngine({ root });
    await expect(engine.submit({ path: 'bad.flow.yaml' })).rejects.toThrow(
      /value\.modules\[0\] \(id "a"\)\.concurrency_limit: expected a positive integer, got number 0/,
    );
  });
});

describe('bad options', () => {
  const fn = async (x: string) => x;
  const refused = (options: object, message: RegExp) => {
    let caught: unknown;
    try {
      task(fn, options as never);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(TaskDefinitionError);
    expect((caught as Error).message).toMatch(message);
  };

  it('refuses an option task() does not know, naming it', () => {
    refused({ concurency: { limit: 1 } }, /options\.concurency is not an option of task\(\)/);
    refused({ cache_ttl: 5 }, /options\.cache_ttl is not an option/);
    refused({ concurrency: { limit: 1, keys: 'x' } }, /options\.concurrency\.keys is not an option/);
  });

  it('refuses a limit that is not a positive integer, a negative TTL, a bad key, at definition', () => {
    refused({ concurrency: { limit: 0 } }, /options\.concurrency\.limit must be a positive integer, got number 0/);
    refused({ concurrency: { limit: 2.5 } }, /options\.concurrency\.limit must be a positive integer, got number 2\.5/);
    refused(
      { rateLimit: { limit: '5', per: 1 } },
      /options\.rateLimit\.limit must be a positive integer, got string "5"/,
    );
    refused(
      { rateLimit: { limit: 5, per: 0 } },
      /options\.rateLimit\.per must be a positive number of seconds, got number 0/,
    );
    refused(
      { concurrency: { limit: 1, window: -1 } },
      /options\.concurrency\.window must be a positive number of seconds/,
    );
    refused({ cacheTtl: -1 }, /options\.cacheTtl must be a number of seconds ≥ 0, got number -1/);
    refused({ priority: 1.5 }, /options\.priority must be an integer/);
    refused(
      { concurrency: { limit: 1, key: 42 } },
      /options\.concurrency\.key must be a string or a function .* got number 42/,
    );
    refused(
      { concurrency: { limit: 1, key: () => 7 } },
      /options\.concurrency\.key: the key function must return a non-empty string, got number 7/,
    );
    refused(
      {
        rateLimit: {
          limit: 1,
          per: 1,
          key: () => {
            throw new Error('no key');
          },
        },
      },
      /options\.rateLimit\.key: the key function threw: no key/,
    );
  });

  it('a key function that fails at call time fails that call only', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, FIXTURE, { mode: 'picky' });
    expect(root.status).toBe('success');
    expect(root.result).toEqual({
      ok: 'fine',
      failed: expect.stringMatching(
        /^TaskDefinitionError: task picky: options\.concurrency\.key threw for this call: .*no is not a function/,
      ),
    });
    // The failed call was never submitted.
    expect(descendants).toHaveLength(1);
  });
});
