import type { PruneReport } from './operations.js';

/** `pruned 200 runs: 400 jobs, 600 log lines, …, in 4 batches`, or `would prune …` for a dry run. */
export function describePrune(report: PruneReport): string {
  const { rows } = report;
  const verb = report.dryRun ? 'would prune' : 'pruned';
  if (report.runs === 0) return `${verb} nothing: no finished run is that old`;
  const parts = [
    `${rows.jobs} jobs`,
    `${rows.logs} log lines`,
    `${rows.attempts} attempts`,
    `${rows.flowStatus} flow statuses`,
    `${rows.progress} progress reports`,
    `${rows.events} events`,
  ];
  return `${verb} ${report.runs} ${report.runs === 1 ? 'run' : 'runs'}: ${parts.join(', ')}${report.dryRun ? '' : `, in ${report.batches} ${report.batches === 1 ? 'batch' : 'batches'}`}`;
}
