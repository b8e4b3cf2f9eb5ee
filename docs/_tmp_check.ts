import { task } from 'millrace';

export const fetchRows = task(async function fetchRows(day: string) {
  console.log(`fetching ${day}`);
  return [{ day, total: day.length * 10 }];
});

export const render = task(async function render(rows: { day: string; total: number }[]) {
  return rows.map((r) => `${r.day}: ${r.total}`).join('\n');
});

export async function main(days: string[], title = 'Report', verbose = false) {
  const rows = (await Promise.all(days.map((d) => fetchRows(d)))).flat();
  if (verbose) console.log(`${rows.length} rows`);
  return `${title}\n${await render(rows)}`;
}
