// Durable replay: steps for values that change between runs, and a durable sleep.
// npx millrace run examples/checkout.ts --order A-17
import { sleep, step, task } from 'millrace';

export const charge = task(async function charge(order: string, amount: number) {
  console.log(`charging ${amount} for ${order}`);
  return `ch_${order}`;
});

export const sendReceipt = task(async function sendReceipt(order: string, chargeId: string, at: number) {
  console.log(`receipt for ${order}: ${chargeId} at ${new Date(at).toISOString()}`);
});

export async function main(order = 'A-17') {
  // Recorded once; a replay gets the same values back instead of new ones.
  const amount = await step('price', async () => 40 + Math.round(Math.random() * 20));
  const at = await step('now', () => Date.now());
  const chargeId = await charge(order, amount);
  await sleep(2); // durable: a replay does not wait again for time already waited
  await sendReceipt(order, chargeId, at);
  return { order, amount, chargeId };
}
