// A profiling harness, not part of `npm run bench`: the load bench's drain (jobs queued through
// the API, each printing a line, then drained by 2 `millrace worker` processes), for turns
// between two trees. It prints the drain's rate, the CPU time per job by process (from /proc)
// and the store's verbs per job (from the server's millrace_store_seconds counts); on
// PostgreSQL, its transactions per job too (pg_stat_database: each is a commit).
//   npx tsx bench/prof-drain.ts <db: a SQLite file or postgres://…> [jobs]
// The tree is not built here: `npm run build` first (the processes run dist/).
import { dirname, resolve } from 'node:path';
import pg from 'pg';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../lib/http/api-client.js';
import type { WaitReply } from '../lib/http/wire.js';
import { startCluster } from './cluster.js';
import { busyByKind } from './proc-cpu.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [db, count = '3000'] = process.argv.slice(2);
if (!db) throw new Error('usage: prof-drain.ts <db: a SQLite file or postgres://…> [jobs]');
const jobs = Number(count);

const cluster = await startCluster(ROOT, db, 0);
const client = new ApiClient({ server: cluster.url, token: cluster.token });

/** The server's count of each store verb so far. */
async function storeCalls(): Promise<Map<string, number>> {
  const res = await fetch(`${cluster.url}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } });
  const text = await res.text();
  return new Map(
    [...text.matchAll(/^millrace_store_seconds_count\{verb="(\w+)"\} (\d+)/gm)].map((m) => [m[1], Number(m[2])]),
  );
}

/** PostgreSQL's count of committed transactions in the database so far, if the store is there. */
async function commits(): Promise<number | undefined> {
  if (!db.startsWith('postgres')) return undefined;
  const client = new pg.Client(db);
  await client.connect();
  try {
    // The statistics are read once per transaction and sent by backends now and then: make them current.
    await client.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await client.query<{ n: string }>(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

try {
  const ids: string[] = [];
  for (let i = 0; i < jobs; i += 100) {
    const batch = Array.from({ length: Math.min(100, jobs - i) }, (_, k) =>
      client.json<string>('POST', client.ws('jobs/run/p/bench/scripts/load'), { i: i + k }),
    );
    ids.push(...(await Promise.all(batch)));
  }
  const calls0 = await storeCalls();
  const commits0 = await commits();
  const cpu0 = busyByKind();
  const start = performance.now();
  await cluster.addWorkers(2);
  // The workers' CPU from when they serve: their boot (loading the engine, tsx) is not the drain's.
  const workers0 = busyByKind().get('workers') ?? 0;
  const remaining = new Set(ids);
  while (remaining.size > 0) {
    const reply = await client.json<WaitReply>('POST', client.ws('worker/wait'), {
      ids: [...remaining].slice(0, 100),
      wait_ms: 25_000,
    });
    for (const job of reply.finished) remaining.delete(job.id);
  }
  const perSec = Math.round(jobs / ((performance.now() - start) / 1000));
  const cpu = [...busyByKind()]
    .map(([kind, ms]) => [kind, ms - (kind === 'workers' ? workers0 : (cpu0.get(kind) ?? 0))] as const)
    .map(([kind, ms]) => `${kind} ${Math.round((ms * 1000) / jobs)}`)
    .join(', ');
  const calls = [...(await storeCalls())]
    .map(([verb, n]) => [verb, (n - (calls0.get(verb) ?? 0)) / jobs] as const)
    .filter(([, perJob]) => perJob >= 0.01)
    .map(([verb, perJob]) => `${verb} ${perJob.toFixed(2)}`)
    .join(', ');
  const commits1 = await commits();
  const txs =
    commits0 === undefined ? '' : `; PostgreSQL commits per job ${((commits1! - commits0) / jobs).toFixed(2)}`;
  console.log(`drained ${perSec}/s; CPU µs/job: ${cpu}; store verbs per job: ${calls}${txs}`);
} finally {
  await client.close();
  await cluster.stop();
}
