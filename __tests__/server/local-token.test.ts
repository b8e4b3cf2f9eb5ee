import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { isLoopback } from '../../lib/http/server-token.js';
import type { TokenFile } from '../../lib/http/token-file.js';
import { REPO_ROOT } from '../helpers/engine.js';
import { startMillrace, type Proc } from '../helpers/processes.js';

/** No token, server, root or database from the environment of whoever runs the tests. */
const CLEAN = { MILLRACE_TOKEN: '', MILLRACE_SERVER: '', MILLRACE_ROOT: '', MILLRACE_DB: '', DATABASE_URL: '' };

/** A project of its own (an ESM package): examples/heavy.ts, and millrace installed (a link to this repository). */
function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-root-'));
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(root, 'examples'));
  cpSync(join(REPO_ROOT, 'examples/heavy.ts'), join(root, 'examples/heavy.ts'));
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(REPO_ROOT, join(root, 'node_modules/millrace'), 'dir');
  return root;
}

async function startDev(root: string, env: Record<string, string> = {}): Promise<{ proc: Proc; url: string }> {
  const proc = startMillrace(['dev', '--port', '0', '--root', root, '--concurrency', '2'], { ...CLEAN, ...env });
  const [, url] = await proc.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
  return { proc, url };
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  const proc = startMillrace(args, { ...CLEAN, ...env });
  const code = await proc.exited;
  return { code, out: proc.output() };
}

function tokenFile(root: string): TokenFile {
  return JSON.parse(readFileSync(join(root, '.millrace/admin-token.json'), 'utf8')) as TokenFile;
}

describe('a local dev server needs no copied token', () => {
  let rootA: string;
  let devA: { proc: Proc; url: string };

  beforeAll(async () => {
    rootA = project();
    devA = await startDev(rootA);
  });
  afterAll(async () => {
    await devA?.proc.kill();
  });

  it('millrace dev keeps its admin token in <root>/.millrace/admin-token.json, mode 0600, naming its URL and root', async () => {
    const path = join(rootA, '.millrace/admin-token.json');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const file = tokenFile(rootA);
    expect(file).toMatchObject({ version: 1, url: devA.url, root: rootA });
    expect(file.token).toMatch(/^mr_/);
    const [line] = await devA.proc.waitFor(/^admin token in .*$/m);
    expect(line).toBe(
      `admin token in ${path} (mode 0600): the CLI and runScript on this machine, in this root, use it without --token`,
    );
    expect(devA.proc.output()).not.toContain(file.token);
  });

  it('run --server, jobs and show reach it with no token given', async () => {
    const run = await cli(['run', '--server', devA.url, '--root', rootA, '--json', 'examples/heavy.ts', '--n', '2']);
    expect(run.out).not.toMatch(/error:/);
    expect(run.code).toBe(0);
    const { job_id: id, result } = JSON.parse(run.out.trim().split('\n').pop()!) as { job_id: string; result: string };
    expect(result).toBe('OK');
    const jobs = await cli(['jobs', '--roots'], { MILLRACE_SERVER: devA.url, MILLRACE_ROOT: rootA });
    expect(jobs.code).toBe(0);
    expect(jobs.out).toContain(id);
    const show = await cli(['show', '--server', devA.url, '--root', rootA, id]);
    expect(show.out.match(/✔ heavyCompute/g)).toHaveLength(2);
  });

  it('runScript from a plain node program in the root reaches it with MILLRACE_SERVER alone', async () => {
    writeFileSync(
      join(rootA, 'client.mjs'),
      "import { runScript, disconnect } from 'millrace';\n" +
        "const result = await runScript('examples/heavy', { n: 2 });\n" +
        'console.log(`result: ${JSON.stringify(result)}`);\n' +
        'await disconnect();\n',
    );
    const child = spawn(process.execPath, ['client.mjs'], {
      cwd: rootA,
      env: { ...process.env, ...CLEAN, MILLRACE_SERVER: devA.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(out).toContain('result: "OK"');
    expect(code).toBe(0);
  });

  it('a wrong token is refused naming its prefix and where it came from, never the whole token', async () => {
    const flag = await cli(['jobs', '--server', devA.url, '--root', rootA, '--token', 'mr_wrong_secret_value']);
    expect(flag.code).toBe(2);
    expect(flag.out).toMatch(
      /refused the token mr_wron… from the --token flag \(401: Unknown token\)\. Pass --token a token this server accepts/,
    );
    expect(flag.out).not.toContain('mr_wrong_secret_value');
    const env = await cli(['jobs', '--server', devA.url, '--root', rootA], { MILLRACE_TOKEN: 'mr_stale_env_token' });
    expect(env.code).toBe(2);
    expect(env.out).toMatch(/refused the token mr_sta… from MILLRACE_TOKEN \(401: Unknown token\)/);
    expect(env.out).toMatch(/unset MILLRACE_TOKEN and the token file of its root is used/);
    // A worker-only token (made in the dev server's store) is refused with 403, saying what to use instead.
    const made = await cli(['token', 'create', '--worker-only', '--root', rootA]);
    expect(made.code).toBe(0);
    const workerToken = made.out.trim();
    const worker = await cli(['jobs', '--server', devA.url, '--root', rootA, '--token', workerToken]);
    expect(worker.code).toBe(2);
    expect(worker.out).toContain(
      `refused the token ${workerToken.slice(0, 7)}… from the --token flag (403: This token is for workers`,
    );
    expect(worker.out).toMatch(/Use a user or admin token of the workspace for this/);
    expect(worker.out).not.toContain(workerToken);
  });

  it('a server of another root gets no token, and the message names the token file and why', async () => {
    const rootB = project();
    const devB = await startDev(rootB);
    try {
      const run = await cli(['run', '--server', devB.url, '--root', rootA, 'examples/heavy.ts', '--n', '2']);
      expect(run.code).toBe(2);
      expect(run.out).toContain(
        `No token for the server ${devB.url}: the token file at ${join(rootA, '.millrace/admin-token.json')} is for the server of ${rootA}`,
      );
      expect(run.out).toMatch(
        /serves another root \(root id [0-9a-f]{16}\), so it was not sent\. Pass one with --token or MILLRACE_TOKEN/,
      );
      // Its own root's file works for it.
      const own = await cli(['run', '--server', devB.url, '--root', rootB, '--json', 'examples/heavy.ts', '--n', '1']);
      expect(own.code).toBe(0);
    } finally {
      await devB.proc.kill();
    }
  });

  it('a remote server still needs a token', async () => {
    const run = await cli(['jobs', '--server', 'http://192.0.2.1:8000', '--root', rootA]);
    expect(run.code).toBe(2);
    expect(run.out).toMatch(
      /No token for the server http:\/\/192\.0\.2\.1:8000: a server not on this machine needs a token/,
    );
  });
});

describe('the token file across restarts', () => {
  it('a restarted dev keeps the token and records its new URL; a dev given MILLRACE_TOKEN leaves the file alone and gets no file token', async () => {
    const root = project();
    const first = await startDev(root);
    const before = tokenFile(root);
    await first.proc.kill();
    const second = await startDev(root);
    try {
      const after = tokenFile(root);
      expect(after.token).toBe(before.token);
      expect(after.url).toBe(second.url);
      const run = await cli(['run', '--server', second.url, '--root', root, '--json', 'examples/heavy.ts', '--n', '1']);
      expect(run.code).toBe(0);
    } finally {
      await second.proc.kill();
    }

    // Same root, but the server holds another admin token: the file's token is not sent to it.
    const other = await startDev(root, { MILLRACE_TOKEN: 'mr_env_admin_token_xyz' });
    try {
      expect(tokenFile(root).token).toBe(before.token);
      const run = await cli(['jobs', '--server', other.url, '--root', root]);
      expect(run.code).toBe(2);
      expect(run.out).toMatch(/serves this root but does not hold the token of the token file at .*admin-token\.json/);
    } finally {
      await other.proc.kill();
    }
  });
});

describe('isLoopback', () => {
  it('is true for 127.0.0.0/8, localhost and [::1] only', () => {
    for (const url of [
      'http://127.0.0.1:8000',
      'http://127.1.2.3',
      'http://localhost:1',
      'http://LOCALHOST',
      'http://[::1]:8000',
    ]) {
      expect([url, isLoopback(new URL(url))]).toEqual([url, true]);
    }
    for (const url of [
      'http://192.0.2.1:8000',
      'http://10.0.0.1',
      'http://example.com',
      'http://127.0.0.1.example.com',
      'http://[::2]',
    ]) {
      expect([url, isLoopback(new URL(url))]).toEqual([url, false]);
    }
  });
});
