// A profiling harness, not part of `npm run bench`: runs one shape on the embedded engine and
// prints, per task, SQLite's transactions (BEGIN/COMMIT executed) and what the process wrote
// (/proc/self/io: bytes and write system calls; the WAL's frames are most of them).
//   npx tsx bench/prof-writes.ts noop|fanout [count] [rounds]
// Run it under `perf record -g` to see the system calls' share of the threads.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { runShape } from './shapes.js';

const execs = new Map<string, number>();
const proto = Database.prototype as { exec(this: Database.Database, sql: string): Database.Database };
const exec = Object.getOwnPropertyDescriptor(proto, 'exec')!.value as typeof proto.exec;
proto.exec = function (sql) {
  execs.set(sql, (execs.get(sql) ?? 0) + 1);
  return exec.call(this, sql);
};

/** The process's I/O counters so far (Linux). */
function io(): Record<string, number> {
  const lines = readFileSync('/proc/self/io', 'utf8').trim().split('\n');
  return Object.fromEntries(lines.map((l) => [l.split(': ')[0], Number(l.split(': ')[1])]));
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode = 'noop', count = '1000', rounds = '3'] = process.argv.slice(2);
const n = Number(count);
const engine = new EmbeddedEngine({ root: ROOT, db: join(mkdtempSync(join(tmpdir(), 'millrace-prof-')), 'p.db') });
try {
  for (let i = 0; i < Number(rounds); i++) {
    execs.clear();
    const before = io();
    const r = await runShape(engine, {
      name: mode,
      what: mode,
      mode: mode === 'noop' ? 'sequential' : 'fanout',
      n: -1,
      count: n,
    });
    const after = io();
    const perTask = (k: string) => ((after[k] - before[k]) / n).toFixed(2);
    console.log(
      `${mode} p50 ${r.overheadP50Ms} ms, ${r.tasksPerSec}/s; per task: commits ${((execs.get('COMMIT') ?? 0) / n).toFixed(2)}, ` +
        `bytes written ${Math.round((after.wchar - before.wchar) / n)}, write calls ${perTask('syscw')}, read calls ${perTask('syscr')}`,
    );
  }
} finally {
  await engine.close();
}
