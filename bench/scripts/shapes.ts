// The benchmark shapes, run as a millrace script. Every duration is measured inside the job,
// so it is the cost a task call adds for the code that makes it.
import { task } from 'millrace';

export function fibo(n: number): number {
  return n < 2 ? n : fibo(n - 1) + fibo(n - 2);
}

export const fiboTask = task(async function fiboTask(n: number) {
  return fibo(n);
});

export const noop = task(async function noop() {
  return null;
});

export interface ShapeResult {
  /** Each awaited task call, in ms. */
  calls: number[];
  /** The same work as a plain function call in this thread, in ms; sequential: plain[i] ran just before calls[i]. */
  plain: number[];
  /** Wall time of all the task calls, and of all the plain calls, in ms. */
  wallMs: number;
  plainWallMs: number;
}

export async function main(shape: 'sequential' | 'fanout', n: number, count: number): Promise<ShapeResult> {
  const work = n < 0 ? async () => null : async () => fibo(n);
  const call = n < 0 ? () => noop() : () => fiboTask(n);
  const plain: number[] = [];
  const calls: number[] = [];
  if (shape === 'sequential') {
    // Plain call and task call alternate, so each pair sees the same moment of a noisy
    // machine (CPU steal, frequency) and the overhead can be taken pair by pair.
    for (let i = 0; i < count; i++) {
      let t = performance.now();
      await work();
      plain.push(performance.now() - t);
      t = performance.now();
      await call();
      calls.push(performance.now() - t);
    }
    return { calls, plain, wallMs: sum(calls), plainWallMs: sum(plain) };
  }
  let t0 = performance.now();
  await Promise.all(Array.from({ length: count }, () => work()));
  const plainWallMs = performance.now() - t0;
  t0 = performance.now();
  await Promise.all(Array.from({ length: count }, () => call()));
  return { calls, plain, wallMs: performance.now() - t0, plainWallMs };
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
