// npm run bench:scale-out [-- --pg postgres://…] [-- --json]
// The core bench's shapes through servers on loopback, 2 worker processes each time:
//   1 server on a SQLite file; 1 server on PostgreSQL; 2 servers on one PostgreSQL (one
//   worker on each, the client on the first); 1 server on PostgreSQL with
//   synchronous_commit = off. PostgreSQL comes from --pg, or
//   MILLRACE_BENCH_PG_URL, or MILLRACE_TEST_PG_URL (`node __tests__/setup/throwaway-postgres.mjs`
//   starts one); each configuration gets a database of its own, dropped afterwards.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { Engine } from '../lib/engine/engine.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { runShape, SHAPES, type ShapeFigures } from './shapes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: { json: { type: 'boolean', default: false }, pg: { type: 'string' } } });
const pgUrl = flags.pg ?? process.env.MILLRACE_BENCH_PG_URL ?? process.env.MILLRACE_TEST_PG_URL;
if (!pgUrl) throw new Error('bench:scale-out needs PostgreSQL: pass --pg postgres://… or set MILLRACE_BENCH_PG_URL');
const say = (text: string) => {
  if (!flags.json) process.stdout.write(`${text}\n`);
};

interface Config {
  name: string;
  servers: number;
  db: (dir: string) => Promise<{ url: string; drop: () => Promise<void> }>;
}

/** A new database on the PostgreSQL server, for one configuration; `settings` are set on it. */
async function freshPgDatabase(
  settings: Record<string, string> = {},
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `millrace_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  for (const [key, value] of Object.entries(settings))
    await admin.query(`ALTER DATABASE ${name} SET ${key} = ${value}`);
  await admin.end();
  const url = new URL(pgUrl!);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

const CONFIGS: Config[] = [
  {
    name: 'SQLite, 1 server',
    servers: 1,
    db: async (dir) => ({ url: join(dir, 'server.db'), drop: async () => undefined }),
  },
  { name: 'PostgreSQL, 1 server', servers: 1, db: () => freshPgDatabase() },
  { name: 'PostgreSQL, 2 servers', servers: 2, db: () => freshPgDatabase() },
  // Commits that do not wait for the disk: about what SQLite's synchronous = NORMAL gives.
  { name: 'PG async commit, 1 server', servers: 1, db: () => freshPgDatabase({ synchronous_commit: 'off' }) },
];

async function measure(engine: Engine): Promise<ShapeFigures[]> {
  for (const shape of SHAPES) await runShape(engine, shape); // warm-up
  const figures: ShapeFigures[] = [];
  for (const shape of SHAPES) figures.push(await runShape(engine, shape));
  return figures;
}

async function main(dir: string): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const results: { config: string; figures: ShapeFigures[] }[] = [];
  for (const config of CONFIGS) {
    const db = await config.db(dir);
    const cluster = await startCluster(ROOT, db.url, 2, config.servers);
    const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
    try {
      results.push({ config: config.name, figures: await measure(engine) });
    } finally {
      await engine.close();
      await cluster.stop();
      await db.drop();
    }
  }
  say(`\n2 worker processes (1 executor thread each), client on the first server; ${availableParallelism()} cores`);
  say(`shape   ${results.map((r) => r.config.padStart(28)).join('')}`);
  for (let i = 0; i < SHAPES.length; i++) {
    const cells = results.map((r) => {
      const f = r.figures[i];
      return `${f.tasksPerSec}/s${f.overheadP50Ms !== null ? ` p50 ${f.overheadP50Ms} ms` : ''}`.padStart(28);
    });
    say(`${SHAPES[i].name.padEnd(7)} ${cells.join('')}`);
  }
  if (flags.json)
    process.stdout.write(
      `${JSON.stringify({ node: process.version, cpus: availableParallelism(), results }, null, 2)}\n`,
    );
}

const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-'));
try {
  await main(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
