// A profiling harness, not part of `npm run bench`: which B-trees an embedded shape's commits
// write. It turns SQLite's automatic checkpoints off, runs the shape, then reads the WAL's
// frames (one per page a commit wrote) and names each page's B-tree (table or index) with
// the dbstat table. Prints the frames per task and per commit, then per task by B-tree.
//   npx tsx bench/prof-wal.ts noop|fanout [count]
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { runShape } from './shapes.js';
type Pragma = (this: Database.Database, source: string, options?: Database.PragmaOptions) => unknown;
const proto = Database.prototype as unknown as { pragma: Pragma };
const pragma = Object.getOwnPropertyDescriptor(proto, 'pragma')!.value as Pragma;
// The store's connection, once it is set up: no automatic checkpoints, so the WAL keeps every frame.
proto.pragma = function (source, options) {
  const r = pragma.call(this, source, options);
  if (source.startsWith('synchronous')) pragma.call(this, 'wal_autocheckpoint = 0');
  return r;
};
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode = 'noop', count = '300'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'millrace-wal-'));
const db = join(dir, 'p.db');
const engine = new EmbeddedEngine({ root: ROOT, db });
await runShape(engine, { name: mode, what: mode, mode: mode === 'noop' ? 'sequential' : 'fanout', n: -1, count: 50 });
// Checkpoint what the warm-up wrote, then measure a clean WAL.
const side = new Database(db);
side.pragma('wal_checkpoint(TRUNCATE)');
await runShape(engine, {
  name: mode,
  what: mode,
  mode: mode === 'noop' ? 'sequential' : 'fanout',
  n: -1,
  count: Number(count),
});
copyFileSync(`${db}-wal`, join(dir, 'copy.db-wal'));
copyFileSync(db, join(dir, 'copy.db'));
const wal = readFileSync(join(dir, 'copy.db-wal'));
const pageSize = wal.readUInt32BE(8);
const perPage = new Map<number, number>();
let frames = 0,
  commits = 0;
for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
  const page = wal.readUInt32BE(off);
  if (wal.readUInt32BE(off + 4) !== 0) commits++;
  frames++;
  perPage.set(page, (perPage.get(page) ?? 0) + 1);
}
const copy = new Database(join(dir, 'copy.db'), { readonly: true });
const owner = new Map<number, string>();
for (const r of copy.prepare('SELECT name, pageno, pagetype FROM dbstat').all() as {
  name: string;
  pageno: number;
  pagetype: string;
}[])
  owner.set(
    r.pageno,
    `${r.name}${r.pagetype === 'internal' ? ' (interior)' : r.pagetype === 'overflow' ? ' (overflow)' : ''}`,
  );
const byName = new Map<string, number>();
for (const [page, n] of perPage) {
  const k = owner.get(page) ?? (page === 1 ? 'header page 1' : `free/ptrmap ${page}`);
  byName.set(k, (byName.get(k) ?? 0) + n);
}
console.log(
  `${mode} ${count}: frames ${frames}, commits ${commits}, frames per task ${(frames / Number(count)).toFixed(2)}, per commit ${(frames / commits).toFixed(2)}`,
);
for (const [k, n] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 25))
  console.log(`${(n / Number(count)).toFixed(2).padStart(6)} ${k}`);
await engine.close();
