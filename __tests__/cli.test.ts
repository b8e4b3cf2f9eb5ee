import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';
import { runToEnd, startMillrace, type Result } from './helpers/processes.js';

/** Runs the built CLI as a user would: `millrace <args>` in the repository. */
function millrace(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return runToEnd(process.execPath, [join(REPO_ROOT, 'bin/millrace.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
}

async function withStore<T>(db: string, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = new SqliteStore({ file: db });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('millrace run, on the seed example', () => {
  it('runs 5 jobs with their own logs and links; the root log carries the children’s lines; result OK, exit 0', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--db', db, 'examples/heavy.ts', '--n', '3']);
    expect(run.stderr).toMatch(/\[sendResult [0-9a-z]{8}\] Sending result -?[\d.e-]+ to me@example\.com/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toBe('OK');

    await withStore(db, async (store) => {
      const [root] = await store.list({ rootsOnly: true });
      const jobs = await store.list({ rootJob: root.id });
      expect(jobs).toHaveLength(5);
      const children = jobs.filter((j) => j.id !== root.id);
      expect(children.map((j) => j.entrypoint).sort()).toEqual([
        'heavyCompute',
        'heavyCompute',
        'heavyCompute',
        'sendResult',
      ]);
      for (const child of children) {
        expect(child).toMatchObject({ parentJob: root.id, rootJob: root.id, status: 'success', kind: 'task' });
        // Each job has its own log, holding only its own lines.
        const own = await store.readLogs(child.id, { ownOnly: true });
        expect(own.length).toBeGreaterThan(0);
        expect(await store.readLogs(child.id)).toEqual(own);
      }
      expect(children.filter((c) => c.entrypoint === 'heavyCompute').every((c) => c.tag === 'cpu')).toBe(true);
      expect(root).toMatchObject({
        status: 'success',
        result: 'OK',
        parentJob: null,
        rootJob: root.id,
        scriptPath: 'examples/heavy',
      });

      const sendResult = children.find((j) => j.entrypoint === 'sendResult')!;
      const rootLog = await store.readLogs(root.id);
      const sending = rootLog.find((l) => l.line.startsWith('Sending result'));
      expect(sending?.source).toEqual({ jobId: sendResult.id, name: 'sendResult' });
      const sendOwn = await store.readLogs(sendResult.id, { ownOnly: true });
      expect(sendOwn.map((l) => l.line)).toEqual([sending!.line]);
      const rootOwn = await store.readLogs(root.id, { ownOnly: true });
      expect(rootOwn.some((l) => l.line.startsWith('Sending result'))).toBe(false);
    });
  });

  it('--json prints { job_id } first, then { job_id, status, result }', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--db', db, '--json', 'examples/heavy', '--n', '1']);
    expect(run.code).toBe(0);
    const [first, last, ...rest] = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rest).toEqual([]);
    expect(first).toEqual({ job_id: expect.stringMatching(/^[0-9a-z]{20}$/) });
    expect(last).toEqual({ job_id: first.job_id, status: 'success', result: 'OK' });
  });

  it('--args takes the args as one JSON object; MILLRACE_DB picks the store', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--json', 'examples/heavy.ts', '--args', '{"n":2}'], { MILLRACE_DB: db });
    expect(run.code).toBe(0);
    await withStore(db, async (store) => expect(await store.list({})).toHaveLength(4));
  });
});

describe('millrace run refuses bad input before any job exists', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'a bad arg type',
      ['examples/heavy.ts', '--n', 'abc'],
      /Bad args for examples\/heavy: --n: expected a number, got "abc"/,
    ],
    ['a missing arg', ['examples/heavy.ts'], /Bad args for examples\/heavy: n is required \(a number\)/],
    ['an unknown arg', ['examples/heavy.ts', '--n', '1', '--m', '2'], /unknown arg --m \(main takes --n\)/],
    ['an unknown script', ['examples/nope.ts'], /Unknown script ".*examples\/nope\.ts": no such file under/],
    [
      'a script with no main',
      ['__tests__/fixtures/no-main.ts'],
      /Script "__tests__\/fixtures\/no-main" has no exported function main\. Its exports are: notMain/,
    ],
  ];
  for (const [name, args, message] of cases) {
    it(name, async () => {
      const db = tempDb();
      const run = await millrace(['run', '--db', db, ...args]);
      expect(run.stderr).toMatch(message);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      if (existsSync(db)) await withStore(db, async (store) => expect(await store.list({})).toEqual([]));
    });
  }
});

describe('millrace run, more', () => {
  it('prints the result as plain JSON, not in its wire form', async () => {
    const run = await millrace(['run', '--db', tempDb(), '__tests__/fixtures/dated.ts']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ when: '1970-01-01T00:00:00.000Z', big: '12' });
  });

  it('gives main a Date and a bigint for its Date and bigint parameters', async () => {
    const run = await millrace([
      'run',
      '--db',
      tempDb(),
      '__tests__/fixtures/typed-args.ts',
      '--when',
      '2024-01-02T03:04:05Z',
      '--big',
      '12345678901234567890',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      isDate: true,
      iso: '2024-01-02T03:04:05.000Z',
      isBigint: true,
      big: '12345678901234567890',
    });
    const bad = await millrace([
      'run',
      '--db',
      tempDb(),
      '__tests__/fixtures/typed-args.ts',
      '--when',
      'someday',
      '--big',
      '1.5',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--when: expected a date-time string, got "someday"/);
    expect(bad.stderr).toMatch(/--big: expected an integer, got "1.5"/);
  });

  it('exits 2 on a bad millrace option', async () => {
    for (const args of [
      ['run', '--concurrency', '0', 'examples/heavy.ts'],
      ['run', '--bogus', 'examples/heavy.ts'],
      ['run'],
      ['jobs', '--status', 'bogus'],
    ]) {
      const run = await millrace(args);
      expect([args.join(' '), run.code]).toEqual([args.join(' '), 2]);
    }
  });

  it('ends when another process cancels its run', async () => {
    const db = tempDb();
    const run = startMillrace(['run', '--db', db, '__tests__/fixtures/slow.ts', '--count', '100000', '--ms', '10']);
    const [, id] = await run.waitFor(/job ([0-9a-z]{20})/);
    await run.waitFor(/\] tick 1\b/);
    const cancel = await millrace(['cancel', '--db', db, id, '--reason', 'from another terminal']);
    expect(cancel.code).toBe(0);
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(/canceled: CanceledError: from another terminal/);
  });
});

describe('a failed run', () => {
  it('prints the error with a stack into the .ts source, and exits 1', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--db', db, '__tests__/fixtures/failing.ts', '--catchIt', 'false']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /failure: TaskError: Job [0-9a-z]{20} \(explode, tag default\) failed on attempt 1 of 1: TypeError: cannot handle uncaught/,
    );
    expect(run.stderr).toMatch(/\[explode [0-9a-z]{8}\] about to fail/);
    expect(run.stderr).toMatch(/fixtures\/failing\.ts:\d+:\d+/);
  });
});

describe('jobs, logs and show over the same store', () => {
  it('list, print and draw a run', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--db', db, '--json', 'examples/heavy.ts', '--n', '2']);
    const { job_id: id } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { job_id: string };

    const jobs = await millrace(['jobs', '--db', db]);
    expect(jobs.code).toBe(0);
    expect(jobs.stdout.split('\n').filter((l) => l.includes('heavyCompute'))).toHaveLength(2);
    const cpu = JSON.parse((await millrace(['jobs', '--db', db, '--json', '--tag', 'cpu'])).stdout) as {
      entrypoint: string;
    }[];
    expect(cpu.map((j) => j.entrypoint)).toEqual(['heavyCompute', 'heavyCompute']);
    const roots = JSON.parse(
      (await millrace(['jobs', '--db', db, '--json', '--roots', '--status', 'success'])).stdout,
    ) as { id: string }[];
    expect(roots.map((j) => j.id)).toEqual([id]);
    expect((await millrace(['jobs', '--db', db, '--status', 'bogus'])).stderr).toMatch(
      /expected one of queued, running, success, failure, canceled, got "bogus"/,
    );

    const logs = await millrace(['logs', '--db', db, id.slice(0, 8)]);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/^\[sendResult [0-9a-z]{8}\] Sending result/m);
    const own = await millrace(['logs', '--db', db, '--own', id]);
    expect(own.stdout).not.toMatch(/Sending result/);

    const show = await millrace(['show', '--db', db, id]);
    expect(show.code).toBe(0);
    const lines = show.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^job\s+id\s+status\s+tag\s+queued\s+started\s+duration$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^✔ examples/heavy\\s+${id.slice(0, 8)}\\s+success\\s+default\\s+\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+(\\d+ms|\\d+\\.\\d\\ds)`,
      ),
    );
    expect(lines.slice(2).map((l) => l.replace(/\s+.*/, ''))).toEqual(['├─', '├─', '└─']);
    expect(lines.filter((l) => /[├└]─ ✔ heavyCompute\s+[0-9a-z]{8}\s+success\s+cpu\s/.test(l))).toHaveLength(2);
    expect(lines[4]).toMatch(/└─ ✔ sendResult/);
    const json = JSON.parse((await millrace(['show', '--db', db, '--json', id])).stdout) as {
      job: { id: string };
      descendants: unknown[];
    };
    expect(json.job.id).toBe(id);
    expect(json.descendants).toHaveLength(3);

    const unknown = await millrace(['show', '--db', db, 'zzzzzz']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/No job with id "zzzzzz"/);
  });

  it('show lists the attempts of a retried task', async () => {
    const db = tempDb();
    const run = await millrace(['run', '--db', db, '--json', '__tests__/fixtures/retries.ts', '--which', 'all']);
    expect(run.code).toBe(0);
    const { job_id: id } = JSON.parse(run.stdout.trim().split('\n').pop()!) as { job_id: string };
    const show = await millrace(['show', '--db', db, id]);
    expect(show.code).toBe(0);
    const out = show.stdout;
    const attempts = out.slice(out.indexOf('\nattempts:\n'));
    expect(attempts).toMatch(
      / thirdTime:\n {4}attempt 1 on \S+ at [\d:.]+: failure, Error: attempt 1 fails\n {4}attempt 2 on \S+ at [\d:.]+: failure, Error: attempt 2 fails\n {4}attempt 3 on \S+ at [\d:.]+: success\n/,
    );
    expect(attempts).toMatch(/ alwaysFails:\n( {4}attempt \d on .*: failure, Error: attempt \d fails\n){3}/);
    // refuses failed on its first attempt: no retries to list.
    expect(attempts).not.toMatch(/refuses/);
    expect(out).toMatch(/refuses: NonRetryableError: the card was declined/);
  });

  it('has help for every command', async () => {
    for (const cmd of ['run', 'jobs', 'logs', 'show']) {
      const help = await millrace([cmd, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`Usage: millrace ${cmd}`));
      expect(help.stdout).toMatch(/--json/);
    }
  });
});
