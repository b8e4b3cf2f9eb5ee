import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { REPO_ROOT } from './helpers/engine.js';
import { runToEnd, type Result } from './helpers/processes.js';

/**
 * Finding 10 of the hardening issue, on the CLI: every mistake of the user's (or damage to
 * their files) is one line saying what is wrong and what to do, never a stack trace.
 */

/** Runs the built CLI; `asUser` runs it as that user (tests run as root, to whom every file is writable). */
function millrace(args: string[], options: { cwd: string; asUser?: string }): Promise<Result> {
  const argv = [process.execPath, join(REPO_ROOT, 'bin/millrace.js'), ...args];
  const [cmd, ...rest] =
    options.asUser && process.getuid?.() === 0 ? ['runuser', '-u', options.asUser, '--', ...argv] : argv;
  return runToEnd(cmd, rest, { cwd: options.cwd, env: { ...process.env, NO_COLOR: '1', MILLRACE_DB: '' } });
}

/** A one-line error, exit 2, no stack. */
function expectCleanError(res: Result, message: RegExp): void {
  expect(res.stderr).toMatch(message);
  expect(res.stderr).not.toMatch(/^\s+at /m);
  expect(res.stderr).not.toMatch(/RangeError|SqliteError|Maximum call stack/);
  expect(res.code).toBe(2);
}

const dirs: string[] = [];
/** Folders above the checkout that were opened for others to pass through, with their modes. */
const opened: [string, number][] = [];
afterAll(() => {
  for (const d of dirs) chmodSync(d, 0o755);
  for (const [d, mode] of opened) chmodSync(d, mode);
});

/**
 * Another user runs the CLI from this checkout, so must pass through every folder above it. A
 * clone under a folder only root may enter (`mktemp -d`, /root) is opened for passing through
 * (o+x, not listing) while the test runs, and closed again after.
 */
function letOthersReach(path: string): void {
  for (let p = path; p !== parse(p).root; p = dirname(p)) {
    const mode = statSync(p).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      opened.push([p, mode]);
      chmodSync(p, mode | 0o001);
    }
  }
}

/** A project root (readable by every user) with a script, and a store holding one job. */
async function project(): Promise<{ root: string; db: string; jobId: string }> {
  const root = mkdtempSync(join(tmpdir(), 'millrace-cli-hardening-'));
  chmodSync(root, 0o755);
  writeFileSync(join(root, 's.ts'), 'export async function main(n?: unknown) {\n  return n;\n}\n');
  const db = join(root, '.millrace', 'millrace.db');
  const store = new SqliteStore({ file: db });
  const { job } = await store.enqueue({
    kind: 'script',
    scriptPath: 's',
    scriptHash: 'h',
    entrypoint: 'main',
    args: { n: 1 },
    workspace: 'default',
  });
  await store.close();
  return { root, db, jobId: job.id };
}

describe('the CLI answers bad input and damaged files with a clear error', () => {
  it('reads a database this user may not write (jobs, show), and refuses to change it (cancel)', async () => {
    const { root, db, jobId } = await project();
    chmodSync(db, 0o444);
    chmodSync(join(root, '.millrace'), 0o555);
    dirs.push(join(root, '.millrace'));
    if (process.getuid?.() === 0) letOthersReach(REPO_ROOT);
    const jobs = await millrace(['jobs', '--root', root], { cwd: root, asUser: 'nobody' });
    expect(jobs.stderr).toBe('');
    expect(jobs.stdout).toContain(jobId);
    expect(jobs.code).toBe(0);
    const show = await millrace(['show', jobId, '--root', root], { cwd: root, asUser: 'nobody' });
    expect(show.stdout).toContain(jobId.slice(0, 8));
    expect(show.code).toBe(0);
    const cancel = await millrace(['cancel', jobId, '--root', root], { cwd: root, asUser: 'nobody' });
    expectCleanError(cancel, /is open read-only \(this user may not write the file\): this command cannot change it/);
  });

  it('names a damaged database and says what to do', async () => {
    const { root, db } = await project();
    const notADb = join(root, 'garbage.db');
    writeFileSync(notADb, Buffer.alloc(8192, 0x5a));
    expectCleanError(
      await millrace(['jobs', '--db', notADb], { cwd: root }),
      /The SQLite store at .*garbage\.db is not a SQLite database .* Move it aside/,
    );
    // A file whose header is sound but whose pages are not: the damage shows in the first query that reads them.
    const { readFileSync } = await import('node:fs');
    const image = readFileSync(db);
    image.fill(0xff, 4096, image.length);
    const damaged = join(root, 'damaged.db');
    writeFileSync(damaged, image);
    expectCleanError(
      await millrace(['jobs', '--db', damaged], { cwd: root }),
      /The SQLite store at .*damaged\.db (is damaged|is not a SQLite database) .* Move it aside/,
    );
  });

  it('refuses --args nested 20,000 deep with the documented limit', async () => {
    const { root } = await project();
    const deep = `{"n":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    expectCleanError(
      await millrace(['run', 's', '--args', deep], { cwd: root }),
      /--args n\[0\].* is nested deeper than 256 levels/,
    );
  });

  it('refuses jobs --limit 1e20 with the range', async () => {
    const { root } = await project();
    expectCleanError(
      await millrace(['jobs', '--limit', '1e20'], { cwd: root }),
      /--limit <n>' argument '1e20' is invalid\. expected an integer from 1 to 10000/,
    );
  });

  it('refuses --threads 100000 with the documented maximum', async () => {
    const { root } = await project();
    expectCleanError(
      await millrace(['run', '--threads', '100000', 's'], { cwd: root }),
      /--threads <n>' argument '100000' is invalid\. expected an integer from 1 to 256/,
    );
  });

  it('reports a syntax error in a script with file:line, not a made-up parameter', async () => {
    const { root } = await project();
    writeFileSync(join(root, 'broken.ts'), 'export async function main(n: number {\n  return n;\n}\n');
    const res = await millrace(['run', 'broken', '--n', '1'], { cwd: root });
    expectCleanError(res, /Script .*broken\.ts:1:38 has a syntax error: ',' expected/);
    expect(res.stderr).not.toMatch(/arg0/);
  });
});
