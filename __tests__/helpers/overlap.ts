import type { JobRecord } from '../../lib/types.js';

/** The most jobs whose recorded [startedAt, completedAt) intervals overlap at one instant. */
export function maxOverlap(jobs: readonly JobRecord[]): number {
  // Ends sort before starts at the same time: a job that ends as another starts does not overlap it.
  const events = jobs.flatMap((j) => [
    [j.startedAt!, 1],
    [j.completedAt!, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of events) {
    now += delta;
    most = Math.max(most, now);
  }
  return most;
}

/** The most start times within any half-open window [t, t + windowMs). */
export function maxStartsPerWindow(starts: readonly number[], windowMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= windowMs) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}
