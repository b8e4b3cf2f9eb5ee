import type { Command } from 'commander';
import { shortId } from '../../ids.js';
import { jobName } from '../format.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

interface CancelOptions extends EngineOptions {
  reason: string;
}

export function cancelCommand(program: Command): void {
  withEngineOptions(
    program
      .command('cancel')
      .summary('cancel a job and its descendants')
      .description('Cancel a job and every unfinished job below it, queued or running.')
      .argument('<id>', 'job id (a unique prefix is enough)')
      .option('--reason <text>', 'why, recorded on each job', 'canceled from the CLI'),
  ).action(async (idArg: string, options: CancelOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const id = await engine.resolveId(idArg);
      const canceled = await engine.cancel(id, options.reason);
      if (options.json) process.stdout.write(`${JSON.stringify(canceled.map((j) => j.id))}\n`);
      else if (canceled.length === 0) process.stdout.write(`job ${id} had already finished; nothing canceled\n`);
      else for (const j of canceled) process.stdout.write(`canceled ${shortId(j.id)} ${jobName(j)}\n`);
    } finally {
      await engine.close();
    }
  });
}
