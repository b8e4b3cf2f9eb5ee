// A task fails; main catches the TaskError and carries on with a fallback.
//   npx millrace run examples/recover.ts --url https://example.invalid/data.json
import { TaskError, task } from 'millrace';

export const fetchPrices = task(async function fetchPrices(url: string) {
  console.log(`fetching ${url}`);
  if (!url.startsWith('https://')) throw new Error(`refusing to fetch over plain HTTP: ${url}`);
  throw new Error(`the price service at ${url} is down`);
});

export const cachedPrices = task(async function cachedPrices() {
  console.log('using yesterday’s prices from the cache');
  return { apples: 1.2, pears: 0.9 };
});

export async function main(url = 'https://prices.example.invalid/today') {
  try {
    return { source: 'live', prices: await fetchPrices(url) };
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    console.log(`fetchPrices failed (job ${err.jobId}): ${err.errorMessage}; falling back`);
    return { source: 'cache', prices: await cachedPrices() };
  }
}
