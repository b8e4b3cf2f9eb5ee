// The speed issue's table, side by side in one run: millrace in each mode, and graphile-worker
// on the same PostgreSQL. Two shapes: 300 sequential awaited no-op jobs (p50 per awaited job)
// and a 2,000-wide fan-out of no-op jobs (jobs/s). PostgreSQL comes from the caller,
// MILLRACE_BENCH_PG_URL or MILLRACE_TEST_PG_URL; without one, a throwaway cluster from npm.
// `npm run bench` runs it last; `npm run bench:peers` alone.
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { Engine } from '../lib/engine/engine.js';
import { HttpEngine } from '../lib/engine/http-engine.js';
import { startCluster } from './cluster.js';
import { runShape, warmUp, type Shape } from './shapes.js';
import { percentile, round } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const SEQUENTIAL = 300;
const WIDE = 2000;
const PEER_SHAPES: Shape[] = [
  { name: 'noop', what: `${SEQUENTIAL} sequential awaited no-op jobs`, mode: 'sequential', n: -1, count: SEQUENTIAL },
  { name: 'fanout', what: `${WIDE}-wide fan-out of no-op jobs`, mode: 'fanout', n: -1, count: WIDE },
];
/** graphile-worker's jobs at once in its one process (its default is 1; its docs suggest more). */
const GRAPHILE_CONCURRENCY = 10;

export interface PeerRow {
  mode: string;
  p50Ms: number;
  perSec: number;
}

async function millrace(mode: string, engine: Engine): Promise<PeerRow> {
  await warmUp(engine, PEER_SHAPES);
  const [noop, fanout] = [await runShape(engine, PEER_SHAPES[0]), await runShape(engine, PEER_SHAPES[1])];
  return { mode, p50Ms: noop.overheadP50Ms!, perSec: fanout.tasksPerSec };
}

// It logs each job to stdout by default, which would be most of what it is measured doing.
const silent = new Logger(() => () => {});

/**
 * graphile-worker 0.16: a job added, then its `job:complete` event heard in the same process.
 * Not `job:success`: graphile-worker emits that before it writes the job's completion
 * (worker.js: the event, then `completeJob`), where millrace's caller hears of a job's end only
 * once it is committed. `job:complete` comes after the completion is written.
 */
async function graphile(connectionString: string): Promise<PeerRow> {
  let finished = 0;
  let next: (() => void) | undefined;
  const runner = await run({
    connectionString,
    concurrency: GRAPHILE_CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: { noop: async () => {} },
    crontab: '',
    logger: silent,
  });
  runner.events.on('job:complete', ({ error }) => {
    if (error) throw new Error(`graphile-worker's no-op job failed: ${(error as Error).message}`);
    finished++;
    next?.();
  });
  const utils = await makeWorkerUtils({ connectionString, logger: silent });
  // One job in flight at a time: the next success heard is its own.
  const awaitJob = async () => {
    const ended = new Promise<void>((r) => (next = r));
    await utils.addJob('noop', {});
    await ended;
  };
  const sequential = async () => {
    const times: number[] = [];
    for (let i = 0; i < SEQUENTIAL; i++) {
      const t0 = performance.now();
      await awaitJob();
      times.push(performance.now() - t0);
    }
    return percentile(times, 50);
  };
  const wide = async () => {
    const target = finished + WIDE;
    const allDone = new Promise<void>((r) => (next = () => finished >= target && r()));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: WIDE }, () => utils.addJob('noop', {})));
    await allDone;
    return WIDE / ((performance.now() - t0) / 1000);
  };
  try {
    // The same warm-up as millrace's (shapes.ts warmUp): three rounds.
    for (let round = 0; round < 3; round++) {
      await sequential();
      await wide();
    }
    const p50 = await sequential();
    const perSec = await wide();
    return {
      mode: `graphile-worker 0.16, concurrency ${GRAPHILE_CONCURRENCY}`,
      p50Ms: round(p50, 3),
      perSec: round(perSec, 0),
    };
  } finally {
    await utils.release();
    await runner.stop();
  }
}

/** `millrace dev`: a server with its worker in one process. */
async function dev(db: string): Promise<{ url: string; token: string; stop(): Promise<void> }> {
  const token = 'mr_bench_token';
  const child = spawn(process.execPath, [join(ROOT, 'bin/millrace.js'), 'dev', '--port', '0', '--db', db], {
    cwd: ROOT,
    env: { ...process.env, MILLRACE_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolvePromise, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(/millrace dev on (http:\/\/[\d.]+:\d+)/);
      if (m) resolvePromise(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`millrace dev exited (${code}) before it was ready`)));
  });
  return {
    url,
    token,
    stop: () =>
      new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

async function freshDatabase(admin: pg.Client, base: string, name: string): Promise<string> {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Runs the peers' table in `dir` (its SQLite files) on PostgreSQL at `pg` (else the
 * environment's, else a throwaway cluster), prints it with `say`, and answers its rows, the
 * peer's last. The caller has built millrace (the workers run dist/).
 */
export async function runPeers(
  dir: string,
  givenPgUrl: string | undefined,
  say: (text: string) => void,
): Promise<PeerRow[]> {
  let pgUrl = givenPgUrl ?? process.env.MILLRACE_BENCH_PG_URL ?? process.env.MILLRACE_TEST_PG_URL;
  let stopPg: (() => Promise<void>) | undefined;
  if (!pgUrl) {
    // A plain .mjs (jest's global setup uses it too): imported by a computed name, typed here.
    const setup = '../__tests__/setup/throwaway-postgres.mjs';
    const { startThrowawayPostgres } = (await import(setup)) as {
      startThrowawayPostgres: () => Promise<{ url: string; stop: () => Promise<void> }>;
    };
    const cluster = await startThrowawayPostgres();
    [pgUrl, stopPg] = [cluster.url, cluster.stop];
  }
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  const rows: PeerRow[] = [];
  try {
    const embedded = new EmbeddedEngine({ root: ROOT, db: join(dir, 'embedded.db') });
    try {
      rows.push(await millrace('millrace embedded (SQLite)', embedded));
    } finally {
      await embedded.close();
    }

    const devServer = await dev(await freshDatabase(admin, pgUrl, 'mr_bench_dev'));
    const devEngine = new HttpEngine({ server: devServer.url, token: devServer.token });
    try {
      rows.push(await millrace('millrace dev on PostgreSQL', devEngine));
    } finally {
      await devEngine.close();
      await devServer.stop();
    }

    for (const [label, db] of [
      ['SQLite', join(dir, 'server.db')],
      ['PostgreSQL', await freshDatabase(admin, pgUrl, 'mr_bench_server')],
    ] as const) {
      const cluster = await startCluster(ROOT, db, 2);
      const engine = new HttpEngine({ server: cluster.url, token: cluster.token });
      try {
        rows.push(await millrace(`millrace server + 2 HTTP workers, ${label}`, engine));
      } finally {
        await engine.close();
        await cluster.stop();
      }
    }

    rows.push(await graphile(await freshDatabase(admin, pgUrl, 'mr_bench_graphile')));
  } finally {
    await admin.end();
    await stopPg?.();
  }

  const peer = rows[rows.length - 1];
  say(`\n${PEER_SHAPES.map((s) => s.what).join('; ')}; one run, ${process.version}`);
  say('mode                                            p50 per awaited job   fan-out /s   vs graphile-worker');
  for (const r of rows) {
    const vs = r === peer ? '' : `p50 ×${round(r.p50Ms / peer.p50Ms, 2)}, fan-out ×${round(r.perSec / peer.perSec, 2)}`;
    say(`${r.mode.padEnd(48)}${`${r.p50Ms} ms`.padStart(19)}   ${String(r.perSec).padStart(10)}   ${vs}`);
  }
  return rows;
}
