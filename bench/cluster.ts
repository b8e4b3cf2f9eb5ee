import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** A server and workers as separate processes on loopback, for the server-mode shapes. */
export interface Cluster {
  url: string;
  token: string;
  /** The server process's pid, to read its memory from /proc. */
  serverPid: number;
  /** Starts more worker processes; resolves when they serve. */
  addWorkers(n: number): Promise<void>;
  stop(): Promise<void>;
}

function start(root: string, args: string[], env: Record<string, string>): { child: ChildProcess; line: (re: RegExp) => Promise<string> } {
  const child = spawn(process.execPath, [join(root, 'bin/millrace.js'), ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[1]);
      }
    }
  });
  return {
    child,
    line: (re) =>
      new Promise((resolve, reject) => {
        const m = out.match(re);
        if (m) return resolve(m[1]);
        waiters.push({ re, resolve });
        child.once('exit', (code) => reject(new Error(`millrace ${args[0]} exited (${code}) before it was ready`)));
      }),
  };
}

export async function startCluster(root: string, db: string, workers: number): Promise<Cluster> {
  const token = 'mr_bench_token';
  const env = { MILLRACE_TOKEN: token };
  const server = start(root, ['server', '--port', '0', '--db', db], env);
  const url = await server.line(/listening on (http:\/\/[\d.:]+)/);
  const procs: ReturnType<typeof start>[] = [];
  const addWorkers = async (n: number) => {
    const added = Array.from({ length: n }, () => start(root, ['worker', '--server', url, '--token', token, '--threads', '1'], env));
    procs.push(...added);
    await Promise.all(added.map((p) => p.line(/millrace worker (\S+) serving/)));
  };
  await addWorkers(workers);
  return {
    url,
    token,
    serverPid: server.child.pid!,
    addWorkers,
    async stop() {
      // Workers first: a server that goes first makes each worker log a failed claim.
      await Promise.all(procs.map((p) => stopProcess(p.child)));
      await stopProcess(server.child);
    },
  };
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
