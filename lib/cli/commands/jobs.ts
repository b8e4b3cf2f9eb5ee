import { InvalidArgumentError, type Command } from 'commander';
import { JOB_STATUSES, type JobStatus } from '../../types.js';
import { formatJobTable } from '../format.js';
import { MAX_PAGE } from '../../server/limits.js';
import { intInRange, openEngine, withEngineOptions, type EngineOptions } from '../options.js';

interface JobsOptions extends EngineOptions {
  status?: JobStatus[];
  tag?: string;
  script?: string;
  limit: number;
  roots?: boolean;
}

function status(value: string, previous: JobStatus[] = []): JobStatus[] {
  if (!(JOB_STATUSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected one of ${JOB_STATUSES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return [...previous, value as JobStatus];
}

export function jobsCommand(program: Command): void {
  withEngineOptions(
    program
      .command('jobs')
      .summary('list recent jobs')
      .description('List recent jobs, newest first.')
      .option('--status <status>', `only jobs in this status (${JOB_STATUSES.join(', ')}); repeatable`, status)
      .option('--tag <tag>', 'only jobs with this tag')
      .option('--script <path>', 'only jobs of this script path (e.g. examples/heavy)')
      .option('--roots', 'only root jobs (one line per run)')
      .option('--limit <n>', `at most this many, up to ${MAX_PAGE}`, intInRange(1, MAX_PAGE), 50),
  ).action(async (options: JobsOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const jobs = await engine.list({
        status: options.status,
        tag: options.tag,
        scriptPath: options.script?.replace(/\.(ts|mts|tsx|js|mjs|cts|cjs)$/, '').replace(/^\.\//, ''),
        rootsOnly: options.roots,
        limit: options.limit,
      });
      process.stdout.write(options.json ? `${JSON.stringify(jobs, null, 2)}\n` : `${formatJobTable(jobs)}\n`);
    } finally {
      await engine.close();
    }
  });
}
