import type { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { describePrune } from '../../store/prune-report.js';
import { parseDuration } from '../duration.js';
import { positiveInt, projectRoot, withRootAndStore } from '../options.js';

interface PruneOptions {
  root?: string;
  db?: string;
  dbPool?: number;
  olderThan: number;
  dryRun?: boolean;
  json?: boolean;
  batchSize?: number;
}

export function pruneCommand(program: Command): void {
  withRootAndStore(
    program
      .command('prune')
      .summary('delete finished runs older than a time')
      .description(
        'Delete whole runs (a root job and every descendant, with their logs, attempts, flow status and progress)\n' +
          'whose every job has finished and whose root finished longer ago than --older-than. A run with a job still\n' +
          'queued or running is never touched. Works in small batches, one transaction each, so claims are not held up;\n' +
          'a SQLite file gives the space back. `millrace server --retain` does the same on a timer. See docs/operations.md.',
      )
      .requiredOption(
        '--older-than <duration>',
        'runs whose root finished longer ago than this (30s, 15m, 12h, 7d, 0 for all)',
        parseDuration,
      )
      .option('--dry-run', 'count what would be deleted; delete nothing')
      .option('--batch-size <n>', 'runs per transaction (default: 50)', positiveInt)
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: PruneOptions) => {
    const root = projectRoot(options);
    const { store, label } = await openStore({ db: options.db, root, poolSize: options.dbPool, listen: false });
    try {
      const report = await store.pruneRuns({
        finishedBefore: Date.now() - options.olderThan,
        dryRun: options.dryRun,
        batchSize: options.batchSize,
      });
      process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : `${label}: ${describePrune(report)}\n`);
    } finally {
      await store.close();
    }
  });
}
