import { jobName, type JobProgress, type JobRecord } from '../types.js';
import { el, jobLink } from './dom.js';

/**
 * The run page's progress bars: one per job of the run that reported progress (setProgress),
 * in the tree's order, with its percentage and message. Nothing when no job reported any.
 */
export function progressView(
  job: JobRecord,
  descendants: readonly JobRecord[],
  progress: Readonly<Record<string, JobProgress>> | undefined,
): HTMLElement | undefined {
  const reported = [job, ...descendants].filter((j) => progress?.[j.id] !== undefined);
  if (!progress || reported.length === 0) return undefined;
  return el(
    'section',
    { class: 'card', id: 'progress' },
    el('h2', {}, 'Progress'),
    ...reported.map((j) => {
      const p = progress[j.id];
      const label = `${jobName(j)}: ${p.percent}%`;
      return el(
        'div',
        { class: 'progress-row', 'data-job': j.id },
        el('span', { class: 'progress-name' }, jobLink(j.id, jobName(j))),
        el('progress', { max: '100', value: String(p.percent), 'aria-label': label }),
        el('span', { class: 'progress-percent mono' }, `${p.percent}%`),
        el('span', { class: 'progress-message muted' }, p.message ?? ''),
      );
    }),
  );
}
