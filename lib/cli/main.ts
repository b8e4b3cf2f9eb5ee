import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { MillraceError } from '../errors.js';
import { ServerUnreachableError } from '../http/api-client.js';
import { cancelCommand } from './commands/cancel.js';
import { devCommand } from './commands/dev.js';
import { jobsCommand } from './commands/jobs.js';
import { logsCommand } from './commands/logs.js';
import { migrateCommand } from './commands/migrate.js';
import { pruneCommand } from './commands/prune.js';
import { resumeCommand, runCommand } from './commands/run.js';
import { sendCommand } from './commands/send.js';
import { serverCommand } from './commands/server.js';
import { scheduleCommand } from './commands/schedule.js';
import { showCommand } from './commands/show.js';
import { tokenCommand } from './commands/token.js';
import { workerCommand } from './commands/worker.js';
import { workersCommand } from './commands/workers.js';
import { queueCommand } from './commands/queue.js';
import { painter } from './format.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Input errors exit 2; a run that failed exits 1 (set by `run`). */
const EXIT_USAGE = 2;
/**
 * The server could not be reached (at the start, or again within the reconnect window after it
 * was lost): not the input's fault, and a run's outcome is unknown, so neither 2 nor 1.
 */
const EXIT_UNREACHABLE = 3;

export function buildProgram(): Command {
  const program = new Command('millrace')
    .description('Workflows as code for TypeScript: every task() call is a job with its own log.')
    .version(pkg.version)
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    // Set before the commands are added, so that they inherit it: a bad option exits 2.
    .exitOverride();
  runCommand(program);
  resumeCommand(program);
  jobsCommand(program);
  logsCommand(program);
  showCommand(program);
  cancelCommand(program);
  sendCommand(program);
  serverCommand(program);
  workerCommand(program);
  devCommand(program);
  workersCommand(program);
  queueCommand(program);
  tokenCommand(program);
  migrateCommand(program);
  scheduleCommand(program);
  pruneCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `millrace logs … | head`: a reader that goes away is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    const paint = painter(process.stderr);
    if (err instanceof MillraceError) {
      process.stderr.write(`${paint('red', 'error:')} ${err.message}\n`);
    } else {
      process.stderr.write(
        `${paint('red', 'error:')} ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    }
    process.exitCode = err instanceof ServerUnreachableError ? EXIT_UNREACHABLE : EXIT_USAGE;
  }
}
