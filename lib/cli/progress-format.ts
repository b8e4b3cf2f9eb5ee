import { shortId } from '../ids.js';
import { jobName, type JobProgress, type JobRecord } from '../types.js';

const BAR_WIDTH = 20;

/** A bar of BAR_WIDTH cells for a percentage: `██████████░░░░░░░░░░`. */
export function progressBar(percent: number): string {
  const full = Math.round((Math.max(0, Math.min(100, percent)) / 100) * BAR_WIDTH);
  return `${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}`;
}

/** `millrace show`'s progress section: a bar per job that reported progress, in the tree's order; empty when none did. */
export function formatProgress(jobs: readonly JobRecord[], progress: Readonly<Record<string, JobProgress>>): string {
  const reported = jobs.filter((j) => progress[j.id] !== undefined);
  if (reported.length === 0) return '';
  const width = Math.max(...reported.map((j) => jobName(j).length));
  const lines = reported.map((j) => {
    const p = progress[j.id];
    return `  ${shortId(j.id)} ${jobName(j).padEnd(width)}  ${progressBar(p.percent)} ${String(p.percent).padStart(3)}%${p.message ? `  ${p.message}` : ''}`;
  });
  return ['progress', ...lines].join('\n');
}
