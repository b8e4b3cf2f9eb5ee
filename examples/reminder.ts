// A workflow that waits: it welcomes someone, sleeps three days (durably: the run holds no
// slot meanwhile and survives restarts), then sends a reminder.
//   npx millrace run examples/reminder.ts --who ada
// Tested in milliseconds with millrace/testing (docs/testing.md): await t.advance('3d').
import { sleep, task } from 'millrace';

const DAY = 24 * 60 * 60;

export const remind = task(async function remind(who: string) {
  console.log(`reminding ${who}`);
  return `reminded ${who}`;
});

export async function main(who: string) {
  console.log(`welcome ${who}`);
  await sleep(3 * DAY);
  return await remind(who);
}
