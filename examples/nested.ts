// Tasks that call tasks, three levels deep: main → region → city → measure.
//   npx millrace run examples/nested.ts --width 3
// Runs even with --concurrency 1: a task that awaits its children gives up its slot.
import { task } from 'millrace';

export const measure = task(async function measure(region: number, city: number, station: number) {
  let x = 0;
  for (let i = 0; i < 200_000; i++) x += Math.sin(i + region * 100 + city * 10 + station);
  console.log(`station ${region}.${city}.${station} measured ${x.toFixed(3)}`);
  return 1;
});

export const city = task(async function city(region: number, c: number, width: number) {
  const counts = await Promise.all(Array.from({ length: width }, (_, s) => measure(region, c, s)));
  return counts.reduce((a, b) => a + b, 0);
});

export const region = task(async function region(r: number, width: number) {
  const counts = await Promise.all(Array.from({ length: width }, (_, c) => city(r, c, width)));
  console.log(`region ${r}: ${counts.reduce((a, b) => a + b, 0)} stations`);
  return counts.reduce((a, b) => a + b, 0);
});

export async function main(width = 3) {
  const counts = await Promise.all(Array.from({ length: width }, (_, r) => region(r, width)));
  return { stations: counts.reduce((a, b) => a + b, 0) };
}
