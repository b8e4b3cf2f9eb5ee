// npx tsx bench/claim-micro.ts
// The CPU time of one SQLite claim of one job with 4,000 queued: what a worker that frees one
// slot pays (docs/performance.md).
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const store = new SqliteStore({ file: join(mkdtempSync(join(tmpdir(), 'cm-')), 'x.db') } as never);
const N = 4000;
const specs = Array.from({ length: N }, (_, i) => ({
  kind: 'task',
  scriptPath: 's',
  scriptHash: 'h',
  entrypoint: 'e',
  args: [i],
  tag: 'default',
  workspace: 'default',
}));
for (const s of specs) await store.enqueue(s as never);
const t0 = process.cpuUsage();
let n = 0;
for (;;) {
  const got = await store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60000 });
  if (!got.length) break;
  n++;
}
const u = process.cpuUsage(t0);
console.log(n, 'claims', ((u.user + u.system) / n).toFixed(1), 'µs CPU per claim');
await store.close();
