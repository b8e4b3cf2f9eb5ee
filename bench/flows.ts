// npm run bench:flows [-- --json]
// What a flow step costs on the embedded engine: a flow whose loop runs N no-op rawscript
// steps, sequentially (per-step latency: the step's job, its expressions, the status writes)
// and in parallel (steps per second). Each figure is the median of 3 runs after a warm-up.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { EmbeddedEngine } from '../lib/engine/embedded.js';
import { percentile, round } from './stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

async function timeFlow(engine: EmbeddedEngine, path: string, count: number): Promise<number> {
  const started = performance.now();
  const job = await engine.submit({ path, args: { count } });
  const done = await engine.wait(job.id);
  if (done.status !== 'success') throw new Error(`the benchmark flow failed: ${done.error?.message}`);
  return performance.now() - started;
}

async function median(engine: EmbeddedEngine, path: string, count: number): Promise<number> {
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) runs.push(await timeFlow(engine, path, count));
  return percentile(runs, 50);
}

const dir = mkdtempSync(join(tmpdir(), 'millrace-bench-flows-'));
const engine = new EmbeddedEngine({ root: ROOT, db: join(dir, 'flows.db') });
try {
  await timeFlow(engine, 'bench/flows/sequential.flow.yaml', 5);
  await timeFlow(engine, 'bench/flows/steps.flow.yaml', 50);
  const sequential = { steps: 100, wallMs: round(await median(engine, 'bench/flows/sequential.flow.yaml', 100)) };
  const parallel = { steps: 500, wallMs: round(await median(engine, 'bench/flows/steps.flow.yaml', 500)) };
  const figures = {
    node: process.version,
    sequential: { ...sequential, msPerStep: round(sequential.wallMs / sequential.steps) },
    parallel: { ...parallel, stepsPerSec: Math.round((parallel.steps / parallel.wallMs) * 1000) },
  };
  if (flags.json) process.stdout.write(`${JSON.stringify(figures)}\n`);
  else {
    process.stdout.write(`flow steps, embedded engine, SQLite file (median of 3)\n`);
    process.stdout.write(
      `  sequential loop: ${sequential.steps} steps in ${sequential.wallMs} ms = ${figures.sequential.msPerStep} ms per step\n`,
    );
    process.stdout.write(
      `  parallel loop:   ${parallel.steps} steps in ${parallel.wallMs} ms = ${figures.parallel.stepsPerSec} steps/s\n`,
    );
  }
} finally {
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}
