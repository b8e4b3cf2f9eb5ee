import type { Engine } from '../lib/engine/engine.js';
import type { ShapeResult } from './scripts/shapes.js';
import { percentile, round } from './stats.js';

/** One shape of the benchmark, as the engine runs it. */
export interface Shape {
  name: string;
  what: string;
  mode: 'sequential' | 'fanout';
  /** fibo(n); a negative n is a no-op. */
  n: number;
  count: number;
  target?: string;
}

export const SHAPES: Shape[] = [
  {
    name: 'noop',
    what: '300 sequential awaited no-op tasks',
    mode: 'sequential',
    n: -1,
    count: 300,
    target: 'p50 overhead ≤ 1 ms embedded, ≤ 5 ms through a server',
  },
  { name: 'light', what: '40 sequential light tasks, fibo(10) each', mode: 'sequential', n: 10, count: 40 },
  {
    name: 'heavy',
    what: '10 sequential heavy tasks, fibo(33) each',
    mode: 'sequential',
    n: 33,
    count: 10,
    target: 'within 10% of plain calls',
  },
  {
    name: 'fanout',
    what: '1,000-wide Promise.all of no-op tasks',
    mode: 'fanout',
    n: -1,
    count: 1000,
    target: '≥ 2,000 tasks/s embedded, ≥ 1,000 through a server',
  },
];

export interface ShapeFigures {
  shape: string;
  what: string;
  tasks: number;
  /** Per-task overhead: each awaited task call minus the plain call made just before it, ms. */
  overheadP50Ms: number | null;
  overheadP99Ms: number | null;
  tasksPerSec: number;
  wallMs: number;
  plainWallMs: number;
  /** Task wall time over plain wall time. */
  ratioToPlain: number;
  target: string | null;
}

/**
 * Runs the shapes on a fresh engine until its figures are its steady ones: threads started,
 * scripts loaded, the JIT warm. One round of the shapes (1,350 tasks) left the p50 of a
 * no-op task 20–60 % above its steady figure on the 2-core machine; after three rounds of
 * the no-op shapes (about 4,000 tasks) it no longer moves (docs/performance.md#warm-up).
 * Answers the first no-op run's figures: what the first tasks after a start cost.
 */
export async function warmUp(engine: Engine, shapes: readonly Shape[] = SHAPES): Promise<ShapeFigures> {
  let cold: ShapeFigures | undefined;
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    for (const shape of shapes) {
      // The heavy shapes cost seconds each and add nothing to the warm-up after the first round.
      if (round > 0 && shape.n >= 0) continue;
      const figures = await runShape(engine, shape);
      cold ??= figures;
    }
  }
  return cold!;
}

const WARM_UP_ROUNDS = 3;

export async function runShape(engine: Engine, shape: Shape): Promise<ShapeFigures> {
  const job = await engine.submit({
    path: 'bench/scripts/shapes',
    args: { shape: shape.mode, n: shape.n, count: shape.count },
  });
  const done = await engine.wait(job.id);
  if (done.status !== 'success') throw new Error(`bench shape ${shape.name} ${done.status}: ${done.error?.message}`);
  const r = done.result as unknown as ShapeResult;
  // Sequential shapes record a plain call before each task call; a fan-out records neither.
  const overheads = r.calls.map((c, i) => c - r.plain[i]);
  return {
    shape: shape.name,
    what: shape.what,
    tasks: shape.count,
    overheadP50Ms: overheads.length ? round(percentile(overheads, 50), 3) : null,
    overheadP99Ms: overheads.length ? round(percentile(overheads, 99), 3) : null,
    tasksPerSec: round(shape.count / (r.wallMs / 1000), 0),
    wallMs: round(r.wallMs, 1),
    plainWallMs: round(r.plainWallMs, 2),
    ratioToPlain: round(r.wallMs / Math.max(r.plainWallMs, 0.001), 3),
    target: shape.target ?? null,
  };
}
