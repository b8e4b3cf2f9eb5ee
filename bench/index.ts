// npm run bench [-- --json] [-- --only embedded|server|load|peers] [-- --pg postgres://…]
// Runs the benchmark shapes on the embedded engine (persisting to a SQLite file) and through a
// server with 2 worker processes on loopback, and prints per-task overhead, throughput and the
// ratio to plain function calls; then the load shape; then millrace in each mode against
// graphile-worker on one PostgreSQL (peer-run.ts). Compare ratios within one run: the machine
// is noisy.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { Engine } from '../lib/engine/engine.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { runLoad } from './load.js';
import { runPeers } from './peer-run.js';
import { runShape, SHAPES, warmUp, type ShapeFigures } from './shapes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: { json: { type: 'boolean', default: false }, only: { type: 'string' }, pg: { type: 'string' } },
});
const json = flags.json;
const only = flags.only;
const PARTS = ['embedded', 'server', 'load', 'peers'];
if (only !== undefined && !PARTS.includes(only)) {
  throw new Error(`--only takes "embedded", "server", "load" or "peers", got ${JSON.stringify(only)}`);
}
const say = (text: string) => {
  if (!json) process.stdout.write(`${text}\n`);
};

async function measure(engine: Engine, label: string): Promise<ShapeFigures[]> {
  const cold = await warmUp(engine);
  say(`\n${label}: the first ${cold.tasks} no-op tasks after the start, p50 ${cold.overheadP50Ms} ms (cold)`);
  const figures: ShapeFigures[] = [];
  for (const shape of SHAPES) figures.push(await runShape(engine, shape));
  return figures;
}

function table(title: string, rows: ShapeFigures[]): void {
  say(`\n${title}`);
  say('shape    tasks  overhead p50  overhead p99   tasks/s   wall ms   plain ms  ratio to plain  target');
  for (const r of rows) {
    say(
      `${r.shape.padEnd(7)} ${String(r.tasks).padStart(6)}  ${String(r.overheadP50Ms ?? '-').padStart(10)} ms  ${String(r.overheadP99Ms ?? '-').padStart(10)} ms` +
        `  ${String(r.tasksPerSec).padStart(8)}  ${String(r.wallMs).padStart(8)}  ${String(r.plainWallMs).padStart(9)}  ${String(r.ratioToPlain).padStart(14)}  ${r.target ?? ''}`,
    );
  }
}

async function main(dir: string): Promise<void> {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const summary: Record<string, unknown> = {
    node: process.version,
    cpus: (await import('node:os')).availableParallelism(),
  };

  if (only === undefined || only === 'embedded') {
    const engine = new EmbeddedEngine({ root: ROOT, db: join(dir, 'embedded.db') });
    try {
      const rows = await measure(engine, 'embedded');
      table(`embedded engine, SQLite file (${String(summary.cpus)} executor threads)`, rows);
      summary.embedded = rows;
      summary.embeddedPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    } finally {
      await engine.close();
    }
  }

  if (only === undefined || only === 'server') {
    const cluster = await startCluster(ROOT, join(dir, 'server.db'), 2);
    const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
    try {
      const rows = await measure(engine, 'server');
      table('through a server, 2 worker processes on loopback (1 executor thread each)', rows);
      summary.server = rows;
    } finally {
      await engine.close();
      await cluster.stop();
    }
  }

  const embedded = summary.embedded as ShapeFigures[] | undefined;
  const server = summary.server as ShapeFigures[] | undefined;
  if (embedded && server) {
    say('\nserver ÷ embedded');
    const ratios = embedded.map((e, i) => ({
      shape: e.shape,
      overheadP50:
        server[i].overheadP50Ms !== null && e.overheadP50Ms ? round2(server[i].overheadP50Ms! / e.overheadP50Ms) : null,
      tasksPerSec: round2(server[i].tasksPerSec / e.tasksPerSec),
    }));
    for (const r of ratios)
      say(`${r.shape.padEnd(7)} overhead p50 ×${r.overheadP50 ?? '-'}   throughput ×${r.tasksPerSec}`);
    summary.serverOverEmbedded = ratios;
  }
  if (only === undefined || only === 'load') {
    const load = await runLoad(ROOT, join(dir, 'load.db'));
    say(
      `\nload: ${load.jobs} queued jobs, ${load.followers} log followers, ${load.workers} worker processes, through a server`,
    );
    say(
      `  submitted ${load.submitPerSec} jobs/s; drained ${load.completedPerSec} jobs/s; followers saw ${load.followedLines} lines`,
    );
    say(
      `  server RSS MiB at 0/25/50/75/100% done: ${load.serverRssMb.join(' / ')}; after a second round of as many: ${load.serverRssAfterSecondRoundMb}; peak ${load.serverPeakRssMb}`,
    );
    summary.load = load;
  }
  if (only === undefined || only === 'peers') summary.peers = await runPeers(dir, flags.pg, say);
  if (json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

// The SQLite files are only for this run: every run starts from an empty store.
const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-'));
try {
  await main(dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
