// npx tsx bench/floor.ts [--pg postgres://…] [--json]
// The physical floor of this machine: what the operations a task is made of cost on their own,
// with nothing of millrace around them. docs/performance.md sets each mode's per-task budget
// against these figures. Each is the median of several batches, in µs per operation.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Agent, request } from 'undici';
import { percentile, round } from './stats.js';

const { values: flags } = parseArgs({
  options: { json: { type: 'boolean', default: false }, pg: { type: 'string' } },
});
const BATCHES = 7;

/** The median over BATCHES of the wall time per operation of `n` runs of `op`, µs. */
async function perOp(n: number, op: (i: number) => unknown): Promise<number> {
  const batches: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await op(i);
    batches.push(((performance.now() - t0) * 1000) / n);
  }
  return round(percentile(batches, 50), 1);
}

/** The same, for operations that are synchronous (no await between them). */
function perOpSync(n: number, op: (i: number) => unknown): number {
  const batches: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) op(i);
    batches.push(((performance.now() - t0) * 1000) / n);
  }
  return round(percentile(batches, 50), 2);
}

/** A job record as the engine carries it (the fields of a no-op task's child). */
const JOB = {
  id: '01JDX3K9V7Q2M8N4P6R5S3T1W0',
  workspace: 'default',
  kind: 'task',
  scriptPath: 'bench/scripts/shapes',
  scriptHash: 'b3f1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1',
  entrypoint: 'noop',
  args: [[-1]],
  tag: 'default',
  status: 'running',
  parentJob: '01JDX3K9V7Q2M8N4P6R5S3T1V9',
  rootJob: '01JDX3K9V7Q2M8N4P6R5S3T1V9',
  attempt: 1,
  maxAttempts: 1,
  createdAt: 1764583200000,
  scheduledFor: 1764583200000,
  startedAt: 1764583200001,
  completedAt: null,
  result: null,
  error: null,
  priority: 0,
};

async function sqlite(dir: string): Promise<Record<string, number>> {
  const db = new Database(join(dir, 'floor.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO t (id, body) VALUES (?, ?)');
  const body = JSON.stringify(JOB);
  let k = 0;
  const commitOne = perOpSync(2000, () => insert.run(`a${k++}`, body));
  const many = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(`b${k++}`, body);
  });
  const inBatch = perOpSync(20, () => many(100)) / 100;
  const select = db.prepare('SELECT * FROM t WHERE id = ?');
  const read = perOpSync(20000, (i) => select.get(`a${i % 2000}`));
  db.close();
  return {
    'SQLite WAL commit of one insert (synchronous=NORMAL)': commitOne,
    'SQLite insert inside a transaction of 100': round(inBatch, 2),
    'SQLite read of one row by primary key': read,
  };
}

async function threads(): Promise<Record<string, number>> {
  const echo = new Worker(
    'const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));',
    {
      eval: true,
    },
  );
  let pending: (() => void) | undefined;
  echo.on('message', () => pending?.());
  const roundTrip = (message: unknown) =>
    new Promise<void>((resolve) => {
      pending = resolve;
      echo.postMessage(message);
    });
  await roundTrip(0);
  const small = await perOp(5000, () => roundTrip({ kind: 'done', jobId: JOB.id }));
  const job = await perOp(5000, () => roundTrip({ kind: 'run', job: JOB }));
  await echo.terminate();
  const hop = await perOp(20000, () => new Promise((r) => setImmediate(r)));
  return {
    'worker_threads round trip, a small message': small,
    'worker_threads round trip, a job record': job,
    'setImmediate: one turn of the event loop': hop,
  };
}

async function http(): Promise<Record<string, number>> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(JOB));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const dispatcher = new Agent({ connections: 4 });
  const body = JSON.stringify({ calls: [{ args: [[-1]] }] });
  const post = async () => {
    const res = await request(url, {
      method: 'POST',
      body,
      dispatcher,
      headers: { 'content-type': 'application/json' },
    });
    await res.body.json();
  };
  await post();
  const roundTrip = await perOp(2000, post);
  await dispatcher.close();
  await new Promise<void>((r) => server.close(() => r()));
  return { 'HTTP request on loopback (undici → node:http, keep-alive, a job record back)': roundTrip };
}

function cpu(): Record<string, number> {
  const text = JSON.stringify(JOB);
  return {
    'JSON.stringify of a job record': perOpSync(50000, () => JSON.stringify(JOB)),
    'JSON.parse of a job record': perOpSync(50000, () => JSON.parse(text)),
    'stat of one file': perOpSync(20000, () => statSync(import.meta.filename)),
  };
}

async function postgres(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TEMP TABLE floor (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  // A temporary table is never flushed: the durable commits go to an ordinary one.
  await client.query('CREATE TABLE IF NOT EXISTS millrace_floor (id TEXT PRIMARY KEY, body TEXT NOT NULL)');
  await client.query('TRUNCATE millrace_floor');
  const body = JSON.stringify(JOB);
  let k = 0;
  const select = await perOp(2000, () => client.query('SELECT 1'));
  const durable = await perOp(300, () => client.query('INSERT INTO millrace_floor VALUES ($1, $2)', [`a${k++}`, body]));
  await client.query('SET synchronous_commit = off');
  const async = await perOp(1000, () => client.query('INSERT INTO millrace_floor VALUES ($1, $2)', [`b${k++}`, body]));
  await client.query('DROP TABLE millrace_floor');
  await client.end();
  return {
    'PostgreSQL round trip (SELECT 1)': select,
    'PostgreSQL durable commit of one insert': durable,
    'PostgreSQL commit of one insert, synchronous_commit off': async,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'millrace-floor-'));
try {
  const figures: Record<string, number> = {
    ...(await sqlite(dir)),
    ...(await threads()),
    ...(await http()),
    ...cpu(),
    ...(flags.pg ? await postgres(flags.pg) : {}),
  };
  if (flags.json) process.stdout.write(`${JSON.stringify({ node: process.version, figures }, null, 2)}\n`);
  else
    for (const [what, us] of Object.entries(figures)) process.stdout.write(`${String(us).padStart(9)} µs  ${what}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
