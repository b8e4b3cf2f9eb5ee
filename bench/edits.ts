// npm run bench:edits [-- --edits 200] [-- --json]
// One long-lived embedded engine (1 executor thread) runs a script edited before every run:
// main.ts, the helper.ts it imports (a task and a constant) and an unchanged lib.ts of 300
// functions that helper imports. Prints the process's RSS as the edits go by, with the default
// maxVersions (50), with a limit the edits never reach (what memory would do without retiring
// threads) and with 1 (a fresh thread for every edit), and the time of a run after an edit and
// of a run with nothing changed.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import { DEFAULT_MAX_VERSIONS } from '../lib/worker/worker.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: { edits: { type: 'string', default: '200' }, json: { type: 'boolean', default: false } },
});
const edits = Number(flags.edits);
if (!Number.isInteger(edits) || edits < 1)
  throw new Error(`--edits takes a positive integer, got ${JSON.stringify(flags.edits)}`);

interface Figures {
  maxVersions: number;
  edits: number;
  /** MB after the first run, then after every 25 edits, then at the end. */
  rssMb: { edit: number; mb: number }[];
  peakRssMb: number;
  retiredThreads: number;
  /** ms of a run right after an edit, and of a run with nothing changed (medians). */
  editedRunMs: number;
  unchangedRunMs: number;
}

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'millrace-bench-edits-'));
  mkdirSync(join(root, 'node_modules'));
  symlinkSync(REPO, join(root, 'node_modules', 'millrace'), 'dir');
  writeFileSync(join(root, 'package.json'), '{"type":"module"}');
  const fns = Array.from(
    { length: 300 },
    (_, i) => `export function f${i}(x: number): number { return x * ${i} + ${i % 7}; }`,
  );
  writeFileSync(
    join(root, 'lib.ts'),
    `${fns.join('\n')}\nexport const table = ${JSON.stringify(Array.from({ length: 2000 }, (_, i) => `row-${i}`))};\n`,
  );
  return root;
}

function write(root: string, n: number): void {
  writeFileSync(
    join(root, 'helper.ts'),
    `import { task } from 'millrace';\nimport { f1, table } from './lib.ts';\n` +
      `export const label = 'helper-v${n}';\nexport const work = task(async (x: number) => f1(x) + table.length + ${n});\n`,
  );
  writeFileSync(
    join(root, 'main.ts'),
    `import { label, work } from './helper.ts';\nexport async function main() { return 'main-v${n}|' + label + '|' + (await work(1)); }\n`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rssMb = () => Math.round(process.memoryUsage().rss / 1e5) / 10;

async function measure(maxVersions: number): Promise<Figures> {
  const root = project();
  const engine = new EmbeddedEngine({ root, db: join(root, 'bench.db'), threads: 1, concurrency: 1, maxVersions });
  const runOnce = async (expect: string) => {
    const t0 = performance.now();
    const job = await engine.wait((await engine.submit({ path: 'main', args: {} })).id);
    const ms = performance.now() - t0;
    const got = job.status === 'success' ? decode(job.result!) : job.error?.message;
    if (typeof got !== 'string' || !got.startsWith(expect)) throw new Error(`expected ${expect}…, got ${String(got)}`);
    return ms;
  };
  const rss: Figures['rssMb'] = [];
  let peak = 0;
  const editedMs: number[] = [];
  const unchangedMs: number[] = [];
  try {
    for (let n = 1; n <= edits; n++) {
      write(root, n);
      editedMs.push(await runOnce(`main-v${n}|helper-v${n}|`));
      unchangedMs.push(await runOnce(`main-v${n}|helper-v${n}|`));
      const mb = rssMb();
      peak = Math.max(peak, mb);
      if (n === 1 || n % 25 === 0 || n === edits) rss.push({ edit: n, mb });
    }
    return {
      maxVersions,
      edits,
      rssMb: rss,
      peakRssMb: peak,
      retiredThreads: engine.worker!.retiredThreads,
      editedRunMs: Math.round(median(editedMs.slice(1)) * 10) / 10,
      unchangedRunMs: Math.round(median(unchangedMs.slice(1)) * 10) / 10,
    };
  } finally {
    await engine.close();
    rmSync(root, { recursive: true, force: true });
  }
}

const results = [await measure(DEFAULT_MAX_VERSIONS), await measure(edits + 1), await measure(1)];
if (flags.json) {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  for (const r of results) {
    process.stdout.write(
      `maxVersions ${r.maxVersions}: ${r.edits} edits, ${r.retiredThreads} threads retired; RSS MB ${r.rssMb.map((x) => `${x.edit}:${x.mb}`).join(' ')}; ` +
        `peak ${r.peakRssMb}; run after an edit ${r.editedRunMs} ms, unchanged ${r.unchangedRunMs} ms (medians)\n`,
    );
  }
}
