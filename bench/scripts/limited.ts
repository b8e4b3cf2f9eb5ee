// A concurrency-limited task call against an unlimited one, measured inside the job
// (bench/flow-control.ts). The limit never binds: what is measured is what the claim's key
// accounting costs, not waiting.
import { task } from 'millrace';

export const unlimited = task(async function unlimited() {
  return null;
});

export const limited = task(
  async function limited() {
    return null;
  },
  { concurrency: { limit: 100_000, key: 'bench' } },
);

export async function main(
  kind: 'unlimited' | 'limited',
  shape: 'sequential' | 'fanout',
  count: number,
): Promise<{ calls: number[]; wallMs: number }> {
  const call = kind === 'limited' ? () => limited() : () => unlimited();
  if (shape === 'sequential') {
    const calls: number[] = [];
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await call();
      calls.push(performance.now() - t);
    }
    return { calls, wallMs: calls.reduce((a, b) => a + b, 0) };
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, () => call()));
  return { calls: [], wallMs: performance.now() - t0 };
}
