// A profiling harness, not part of `npm run bench`: one shape through `millrace server` and 2
// `millrace worker` processes, for turns between two trees and for profiles
// (MILLRACE_BENCH_PROF_DIR=dir: the server and workers write CPU profiles there, cluster.ts).
//   npx tsx bench/prof-cluster.ts <db: a SQLite file or postgres://…> noop|fanout [count] [rounds]
// It prints the machine's CPU time per task (all processes, from /proc/stat): on a 2-core
// machine, what the whole task costs. The tree is not built here: `npm run build` first (the processes run dist/).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { runShape, warmUp } from './shapes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [db, mode = 'fanout', count = '2000', rounds = '3'] = process.argv.slice(2);
if (!db) throw new Error('usage: prof-cluster.ts <db: a SQLite file or postgres://…> noop|fanout [count] [rounds]');
const shape = {
  name: mode,
  what: mode,
  mode: mode === 'noop' ? 'sequential' : 'fanout',
  n: -1,
  count: Number(count),
} as const;

/** The machine's busy CPU time so far, ms (all processes: server, workers, PostgreSQL, this one). */
function machineBusyMs(): number {
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .map(Number);
  return (user + nice + system + irq + softirq) * 10; // clock ticks of 10 ms
}

/** CPU time so far by kind of process (server, worker, postgres, this bench), ms. */
function busyByKind(): Map<string, number> {
  const kinds = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const kind = /millrace\.js server /.test(cmd)
        ? 'server'
        : /millrace\.js worker /.test(cmd)
          ? 'workers'
          : cmd.startsWith('postgres')
            ? 'postgres'
            : Number(pid) === process.pid
              ? 'bench'
              : undefined;
      if (!kind) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      kinds.set(kind, (kinds.get(kind) ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The process ended meanwhile.
    }
  }
  return kinds;
}

const cluster = await startCluster(ROOT, db, 2);
const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
try {
  await warmUp(engine, [shape]);
  for (let i = 0; i < Number(rounds); i++) {
    const [busy0, kinds0] = [machineBusyMs(), busyByKind()];
    const r = await runShape(engine, shape);
    const perTask = (ms: number) => Math.round((ms * 1000) / shape.count);
    const kinds = [...busyByKind()].map(([k, ms]) => `${k} ${perTask(ms - (kinds0.get(k) ?? 0))}`).join(', ');
    console.log(
      `${mode} p50 ${r.overheadP50Ms ?? '-'} ms, ${r.tasksPerSec}/s, machine CPU ${perTask(machineBusyMs() - busy0)} µs/task (${kinds})`,
    );
  }
} finally {
  await engine.close();
  await cluster.stop();
}
