import type { Command } from 'commander';
import { formatLogLine } from '../format.js';
import { writeOut } from '../write.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

interface LogsOptions extends EngineOptions {
  follow?: boolean;
  own?: boolean;
}

export function logsCommand(program: Command): void {
  withEngineOptions(
    program
      .command('logs')
      .summary("print a job's log")
      .description(
        "Print a job's log: its own lines and, marked with their task name and job id, the lines of every job it called.",
      )
      .argument('<id>', 'job id (a unique prefix is enough)')
      .option('-f, --follow', 'keep printing new lines until the job has finished')
      .option('--own', "only the job's own lines"),
  ).action(async (idArg: string, options: LogsOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const id = await engine.resolveId(idArg);
      for await (const line of engine.logs(id, { follow: options.follow })) {
        if (options.own && line.source) continue;
        await writeOut(process.stdout, options.json ? `${JSON.stringify(line)}\n` : `${formatLogLine(line)}\n`);
      }
    } finally {
      await engine.close();
    }
  });
}
