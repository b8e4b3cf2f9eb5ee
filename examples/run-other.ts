import { runFlow, runScript } from 'millrace';

/**
 * Runs a script and a flow by path, each as a child job of this one (on the timeline, with
 * its log lines in this job's log), and uses both results.
 */
export async function main(prices: number[] = [30, 50, 20]) {
  const subtotal = (await runScript('examples/flows/sum', { values: prices })) as number;
  const items = prices.map((price, i) => ({ sku: `sku${i}`, qty: 1, price }));
  const routed = await runFlow('examples/flows/orders', { items });
  console.log(`subtotal ${subtotal}, flow said: ${JSON.stringify(routed)}`);
  return { subtotal, routed };
}
