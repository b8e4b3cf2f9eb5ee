import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { request } from 'undici';
import { REPO_ROOT, tempDb } from './engine.js';

/** How a command that ran to its end ended, and what it printed. */
export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output. */
export function runToEnd(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // Decoded by the stream, so a character split across two chunks stays whole.
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A millrace process started by a test: its output so far, and a way to wait for a line of it. */
export interface Proc {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first output line matching `pattern` (already printed or yet to come). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function startMillrace(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/millrace.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const watchers: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...watchers]) {
      const m = out.match(w.pattern);
      if (m) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor(pattern) {
      const m = out.match(pattern);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        void exited.then((code) =>
          reject(new Error(`process exited (${code}) before printing ${pattern}; output:\n${out}`)),
        );
      });
    },
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export const TEST_TOKEN = 'mr_test_admin_token';

/** A server on a free loopback port, with a known admin token. */
export async function startServerProcess(
  extra: string[] = [],
  db = tempDb(),
): Promise<{ proc: Proc; url: string; db: string }> {
  const proc = startMillrace(['server', '--port', '0', '--db', db, ...extra], { MILLRACE_TOKEN: TEST_TOKEN });
  const [, url] = await proc.waitFor(/listening on (http:\/\/[\d.:]+)/);
  return { proc, url, db };
}

export async function startWorkerProcess(
  url: string,
  extra: string[] = [],
  token = TEST_TOKEN,
): Promise<{ proc: Proc; id: string }> {
  const proc = startMillrace(['worker', '--server', url, '--token', token, '--threads', '1', ...extra]);
  const [, id] = await proc.waitFor(/millrace worker (\S+) serving/);
  return { proc, id };
}

/**
 * A caller of a millrace server's HTTP API as the test admin: JSON in and out (text where the
 * answer is not JSON); an answer of 300 or over throws with its status and body.
 */
export function apiCaller(url: () => string) {
  return async function api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await request(`${url()}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return (String(res.headers['content-type'] ?? '').startsWith('application/json') ? JSON.parse(text) : text) as T;
  };
}
