// npm run bench:flow-control [-- --pg postgres://…] [-- --json]
// The cost of a concurrency-limited task call against an unlimited one, in the same run:
// embedded (SQLite file) and through a server on PostgreSQL with one worker process.
// PostgreSQL comes from --pg, MILLRACE_BENCH_PG_URL or MILLRACE_TEST_PG_URL; without one,
// only the embedded figures are taken. Rounds alternate unlimited and limited, so both see
// the same moments of a busy machine; each figure is the median of the rounds.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { Engine } from '../lib/engine/engine.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { percentile, round } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    pg: { type: 'string' },
    rounds: { type: 'string', default: '5' },
  },
});
const pgUrl = flags.pg ?? process.env.MILLRACE_BENCH_PG_URL ?? process.env.MILLRACE_TEST_PG_URL;
const rounds = Number(flags.rounds);
const say = (text: string) => {
  if (!flags.json) process.stdout.write(`${text}\n`);
};

interface Figures {
  where: string;
  /** p50 of one awaited call, 300 sequential calls, ms. */
  sequentialP50Ms: { unlimited: number; limited: number; ratio: number };
  /** A 1,000-wide Promise.all, tasks per second. */
  fanoutPerSec: { unlimited: number; limited: number; ratio: number };
}

async function run(
  engine: Engine,
  kind: string,
  shape: string,
  count: number,
): Promise<{ calls: number[]; wallMs: number }> {
  const job = await engine.submit({ path: 'bench/scripts/limited', args: { kind, shape, count } });
  const done = await engine.wait(job.id);
  if (done.status !== 'success') throw new Error(`bench ${kind} ${shape}: ${done.status} ${done.error?.message}`);
  return done.result as unknown as { calls: number[]; wallMs: number };
}

async function measure(where: string, engine: Engine): Promise<Figures> {
  for (const kind of ['unlimited', 'limited']) await run(engine, kind, 'sequential', 50); // warm-up
  const seq: Record<string, number[]> = { unlimited: [], limited: [] };
  const fan: Record<string, number[]> = { unlimited: [], limited: [] };
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['unlimited', 'limited']) {
      seq[kind].push(percentile((await run(engine, kind, 'sequential', 300)).calls, 50));
      fan[kind].push(1000 / ((await run(engine, kind, 'fanout', 1000)).wallMs / 1000));
    }
  }
  const med = (v: number[]) => percentile(v, 50);
  const s = {
    unlimited: round(med(seq.unlimited), 3),
    limited: round(med(seq.limited), 3),
    ratio: round(med(seq.limited) / med(seq.unlimited), 3),
  };
  const f = {
    unlimited: round(med(fan.unlimited), 0),
    limited: round(med(fan.limited), 0),
    ratio: round(med(fan.limited) / med(fan.unlimited), 3),
  };
  say(
    `${where.padEnd(34)} sequential p50 ${s.unlimited} → ${s.limited} ms (×${s.ratio})   fan-out ${f.unlimited} → ${f.limited} tasks/s (×${f.ratio})`,
  );
  return { where, sequentialP50Ms: s, fanoutPerSec: f };
}

async function main(dir: string): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const results: Figures[] = [];
  say(`unlimited → concurrency-limited task call (limit never reached), median of ${rounds} rounds`);
  const embedded = new EmbeddedEngine({ root: ROOT, db: join(dir, 'embedded.db') });
  try {
    results.push(await measure('embedded, SQLite file', embedded));
  } finally {
    await embedded.close();
  }
  if (pgUrl) {
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    const name = `mr_bench_fc_${process.pid}`;
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(pgUrl);
    url.pathname = `/${name}`;
    const cluster = await startCluster(ROOT, url.toString(), 1);
    const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
    try {
      results.push(await measure('server on PostgreSQL, 1 worker', engine));
    } finally {
      await engine.close();
      await cluster.stop();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  } else {
    say('no PostgreSQL (--pg, MILLRACE_BENCH_PG_URL or MILLRACE_TEST_PG_URL): embedded only');
  }
  if (flags.json) process.stdout.write(`${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
}

const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-fc-'));
try {
  await main(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
