import { task } from 'millrace';
export const step = task(async function step(i: number) {
  console.log(`step ${i}`);
  await new Promise((r) => setTimeout(r, 1000));
  return i;
});
export async function main() {
  for (let i = 0; i < 4; i++) await step(i);
  console.log('main finished its loop');
  return 'done';
}
