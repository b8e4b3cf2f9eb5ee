// A profiling harness, not part of `npm run bench`: runs one shape on the embedded engine,
// for `node --cpu-prof --import tsx bench/prof-shape.ts noop|fanout [count] [rounds]`.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { runShape } from './shapes.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const [mode = 'noop', count = '2000', rounds = '3'] = process.argv.slice(2);
const engine = new EmbeddedEngine({ root: ROOT, db: join(mkdtempSync(join(tmpdir(), 'millrace-prof-')), 'p.db') });
try {
  for (let i = 0; i < Number(rounds); i++) {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await runShape(engine, {
      name: mode,
      what: mode,
      mode: mode === 'noop' ? 'sequential' : 'fanout',
      n: -1,
      count: Number(count),
    });
    const cpu = process.cpuUsage(cpu0);
    console.log(
      `${mode} p50 ${r.overheadP50Ms} ms, ${r.tasksPerSec}/s, wall ${Math.round(performance.now() - t0)} ms, process CPU ${Math.round((cpu.user + cpu.system) / Number(count))} µs/task`,
    );
  }
} finally {
  await engine.close();
}
