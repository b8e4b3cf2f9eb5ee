// PGURL=postgres://… [N=300] [SHAPE=sequential|fanout] [HTTP=1] npx tsx bench/pg-statements.ts
// `millrace dev` on PostgreSQL in one process: the statements each awaited no-op task costs
// (counted by wrapping pg's query), the CPU time per task of this process and of PostgreSQL's, and the median time between a task's phases (from the
// jobs' own timestamps). The budget in docs/performance.md comes from it.
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { openStore } from '../lib/store/open.js';
import { startServer } from '../lib/server/server.js';
import { Worker } from '../lib/worker/worker.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { runShape } from './shapes.js';
import { HttpBackend } from '../lib/worker/http-backend.js';
import { ApiClient } from '../lib/http/api-client.js';

const counts = new Map<string, number>();
for (const proto of [pg.Client.prototype, pg.Pool.prototype] as { query: (...a: unknown[]) => unknown }[]) {
  const orig = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    const q = args[0];
    const text =
      typeof q === 'string'
        ? q
        : ((q as { text?: string; name?: string })?.name ?? (q as { text?: string })?.text ?? '?');
    if (proto === pg.Client.prototype)
      counts.set(text.replace(/\s+/g, ' ').slice(0, 90), (counts.get(text.replace(/\s+/g, ' ').slice(0, 90)) ?? 0) + 1);
    return orig.apply(this, args);
  };
}
/**
 * The CPU time so far of the PostgreSQL server at PGURL's port (its postmaster, found by the
 * `-p <port>` it was started with, and its backends), ms; from /proc, in clock ticks of 10 ms.
 */
function postgresCpuMs(): number {
  const port = new URL(process.env.PGURL!).port;
  const procs = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        if (!stat.includes('(postgres)')) return [];
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const master = cmdline[cmdline.indexOf('-p') + 1] === port;
        return [{ pid, ppid: fields[1], master, ticks: Number(fields[11]) + Number(fields[12]) }];
      } catch {
        return []; // The process ended meanwhile.
      }
    });
  const master = procs.find((p) => p.master);
  return procs.filter((p) => p === master || p.ppid === master?.pid).reduce((sum, p) => sum + p.ticks, 0) * 10;
}

const root = process.cwd();
const { store } = await openStore({ db: process.env.PGURL!, root });
const server = await startServer({
  store,
  root,
  host: '127.0.0.1',
  port: 0,
  adminToken: 'mr_x_token_1234567890',
  uiSession: false,
});
// HTTP=1: the worker talks to the server over HTTP, as `millrace worker` does: a server mode's statements.
const backend =
  process.env.HTTP === '1'
    ? new HttpBackend(new ApiClient({ server: server.url, token: 'mr_x_token_1234567890' }), 'all')
    : server.coordinator;
const worker = new Worker({ backend, root, tags: 'all' });
const engine = new HttpEngine({ server: server.url, token: 'mr_x_token_1234567890' });
const shape = {
  name: 'noop',
  what: '',
  mode: (process.env.SHAPE ?? 'sequential') as 'sequential' | 'fanout',
  n: -1,
  count: Number(process.env.N ?? 300),
};
await runShape(engine, shape);
counts.clear();
const t0 = performance.now();
const [cpu0, pg0] = [process.cpuUsage(), postgresCpuMs()];
const r = await runShape(engine, shape);
const cpu = process.cpuUsage(cpu0);
console.log('p50', r.overheadP50Ms, 'tasks/s', r.tasksPerSec, 'wall', Math.round(performance.now() - t0));
console.log(
  'CPU per task: this process',
  Math.round((cpu.user + cpu.system) / shape.count),
  'µs, PostgreSQL',
  Math.round(((postgresCpuMs() - pg0) * 1000) / shape.count),
  'µs',
);
const sorted = [...counts].sort((a, b) => b[1] - a[1]);
let total = 0;
for (const [, n] of sorted) total += n;
console.log('statements per task', total / shape.count);
for (const [q, n] of sorted.slice(0, 25)) console.log((n / shape.count).toFixed(2), q);
const jobs = (await store.list({ limit: 1000 })) as unknown as {
  createdAt: number;
  startedAt: number;
  completedAt: number;
  parentJob: string | null;
  entrypoint: string;
}[];
const kids = jobs
  .filter((j) => j.parentJob)
  .sort((a, b) => a.createdAt - b.createdAt)
  .slice(-shape.count);
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  'submit->started',
  med(kids.map((k) => k.startedAt - k.createdAt)),
  'started->completed',
  med(kids.map((k) => k.completedAt - k.startedAt)),
  'completed->next created',
  med(kids.slice(1).map((k, i) => k.createdAt - kids[i].completedAt)),
);
await engine.close();
await worker.close();
await server.close();
await store.close();
