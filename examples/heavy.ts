// The seed example: a fan-out of CPU-bound tasks, then one that reports the sum.
//   npx millrace run examples/heavy.ts --n 3
import { task } from 'millrace';

/** A standard normal sample (Box–Muller). */
function randn(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

export const heavyCompute = task(
  async function heavyCompute(n: number) {
    const rows = Array.from({ length: 100 }, () => Array.from({ length: 4 }, randn));
    const sum = rows.flat().reduce((a, b) => a + b, 0);
    console.log(`heavyCompute(${n}): summed ${rows.length}×4 samples to ${sum.toFixed(4)}`);
    return sum;
  },
  { tag: 'cpu' },
);

export const sendResult = task(async function sendResult(res: number, email: string) {
  console.log(`Sending result ${res} to ${email}`); // shows in this job's log AND the parent's
  return 'OK';
});

export async function main(n: number) {
  const l = await Promise.all(Array.from({ length: n }, (_, i) => heavyCompute(i)));
  console.log(l);
  return sendResult(
    l.reduce((a, b) => a + b, 0),
    'me@example.com',
  );
}
