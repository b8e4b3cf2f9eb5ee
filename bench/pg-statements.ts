// PGURL=postgres://… [N=300] npx tsx bench/pg-statements.ts
// `millrace dev` on PostgreSQL in one process: the statements each awaited no-op task costs
// (counted by wrapping pg's query), and the median time between a task's phases (from the
// jobs' own timestamps). The budget in docs/performance.md comes from it.
import pg from 'pg';
import { openStore } from '../lib/store/open.js';
import { startServer } from '../lib/server/server.js';
import { Worker } from '../lib/worker/worker.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { runShape } from './shapes.js';

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
const worker = new Worker({ backend: server.coordinator, root, tags: 'all' });
const engine = new HttpEngine({ server: server.url, token: 'mr_x_token_1234567890' });
const shape = { name: 'noop', what: '', mode: 'sequential' as const, n: -1, count: Number(process.env.N ?? 300) };
await runShape(engine, shape);
counts.clear();
const t0 = performance.now();
const r = await runShape(engine, shape);
console.log('p50', r.overheadP50Ms, 'wall', performance.now() - t0);
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
