import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** Servers and workers as separate processes on loopback, for the server-mode shapes. */
export interface Cluster {
  /** The first server's URL. */
  url: string;
  /** Every server's URL. */
  urls: string[];
  token: string;
  /** The server process's pid, to read its memory from /proc. */
  serverPid: number;
  /** Starts more worker processes; resolves when they serve. */
  addWorkers(n: number): Promise<void>;
  stop(): Promise<void>;
}

function start(
  root: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; line: (re: RegExp) => Promise<string> } {
  // MILLRACE_BENCH_PROF_DIR: each server and worker writes a CPU profile there when it exits.
  const prof = process.env.MILLRACE_BENCH_PROF_DIR;
  const profile = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  const child = spawn(process.execPath, [...profile, join(root, 'bin/millrace.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

/**
 * `servers` servers on one database (several need PostgreSQL) and `workers` workers, dealt
 * to the servers in turn.
 */
export async function startCluster(root: string, db: string, workers: number, servers = 1): Promise<Cluster> {
  const token = 'mr_bench_token';
  const env = { MILLRACE_TOKEN: token };
  const serverProcs: ReturnType<typeof start>[] = [];
  const urls: string[] = [];
  // One after the other: the first applies the migrations.
  for (let i = 0; i < servers; i++) {
    const server = start(root, ['server', '--port', '0', '--db', db], env);
    serverProcs.push(server);
    urls.push(await server.line(/listening on (http:\/\/[\d.:]+)/));
  }
  const procs: ReturnType<typeof start>[] = [];
  let dealt = 0;
  const addWorkers = async (n: number) => {
    const added = Array.from({ length: n }, () =>
      start(root, ['worker', '--server', urls[dealt++ % servers], '--token', token, '--threads', '1'], env),
    );
    procs.push(...added);
    await Promise.all(added.map((p) => p.line(/millrace worker (\S+) serving/)));
  };
  await addWorkers(workers);
  return {
    url: urls[0],
    urls,
    token,
    serverPid: serverProcs[0].child.pid!,
    addWorkers,
    async stop() {
      // Workers first: a server that goes first makes each worker log a failed claim.
      await Promise.all(procs.map((p) => stopProcess(p.child)));
      await Promise.all(serverProcs.map((s) => stopProcess(s.child)));
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
