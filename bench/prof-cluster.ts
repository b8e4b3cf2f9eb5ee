// A profiling harness, not part of `npm run bench`: one shape through `millrace server` and 2
// `millrace worker` processes, for turns between two trees and for profiles
// (MILLRACE_BENCH_PROF_DIR=dir: the server and workers write CPU profiles there, cluster.ts).
//   npx tsx bench/prof-cluster.ts <db: a SQLite file or postgres://…> noop|fanout [count] [rounds]
// It prints the machine's CPU time per task (all processes, from /proc/stat): on a 2-core
// machine, what the whole task costs. The tree is not built here: `npm run build` first (the processes run dist/).
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { busyByKind, machineBusyMs } from './proc-cpu.js';
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
