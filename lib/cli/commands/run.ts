import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ArgsError } from '../../errors.js';
import { parseCliArgs } from '../../loader/args.js';
import { resolveScript } from '../../loader/paths.js';
import { inferSignatureOfFile } from '../../loader/signature.js';
import { decode } from '../../serialize.js';
import type { JobRecord, Json } from '../../types.js';
import { formatLogLine, painter } from '../format.js';
import { openEngine, positiveInt, projectRoot, withStoreOptions, type StoreOptions } from '../options.js';

interface RunOptions extends StoreOptions {
  tag?: string;
  args?: string;
  concurrency?: number;
  threads?: number;
  quiet?: boolean;
}

export function runCommand(program: Command): void {
  withStoreOptions(
    program
      .command('run')
      .summary('run a script: stream its log, print its result')
      .description(
        'Run a script on the embedded engine. Its log (with every task\'s lines, marked) streams to stderr;\n' +
          'its result is printed to stdout as JSON. Exit code 0 when the run succeeded, 1 when it failed.\n\n' +
          "millrace's own options come before the script; everything after it is an arg for main:\n" +
          '  millrace run --db /tmp/x.db examples/heavy.ts --n 3\n' +
          "  millrace run examples/heavy.ts --args '{\"n\":3}'",
      )
      .argument('<script>', 'the script: a file (examples/heavy.ts) or a script path (examples/heavy)')
      .argument('[args...]', "args for main, as --name value (coerced to main's parameter types)")
      .option('--tag <tag>', 'tag of the root job')
      .option('--args <json>', 'args for main as one JSON object')
      .option('--concurrency <n>', 'jobs working at once (default: CPU count)', positiveInt)
      .option('--threads <n>', 'executor threads (default: CPU count)', positiveInt)
      .option('--quiet', 'do not print the log'),
  )
    .passThroughOptions()
    .action(async (script: string, words: string[], options: RunOptions) => {
      process.exitCode = await run(script, words, options);
    });
}

async function run(scriptArg: string, words: string[], options: RunOptions): Promise<number> {
  const root = projectRoot(options);
  // Refuse bad args before anything is opened or submitted.
  const script = resolveScript(root, resolve(process.cwd(), scriptArg));
  const sig = inferSignatureOfFile(script.file, script.hash);
  const fromFlag = options.args === undefined ? [] : ['--args', options.args];
  const { args, problems } = parseCliArgs(sig, [...fromFlag, ...words]);
  if (problems.length > 0) throw new ArgsError(script.path, problems);

  const engine = openEngine({ ...options, worker: true });
  try {
    const job = await engine.submit({ path: script.file, args: decodeArgs(args), tag: options.tag });
    const paint = painter(process.stderr);
    if (!options.json) process.stderr.write(paint('gray', `job ${job.id}  ${job.scriptPath}\n`));
    const onSigint = () => {
      process.stderr.write(`\ncanceling job ${job.id}…\n`);
      void engine.cancel(job.id, 'interrupted from the terminal (Ctrl-C)');
    };
    process.once('SIGINT', onSigint);
    try {
      if (!options.quiet) {
        for await (const line of engine.logs(job.id, { follow: true })) {
          process.stderr.write(`${formatLogLine(line, paint)}\n`);
        }
      }
      const done = await engine.wait(job.id);
      report(done, options);
      return done.status === 'success' ? 0 : 1;
    } finally {
      process.off('SIGINT', onSigint);
    }
  } finally {
    await engine.close();
  }
}

function decodeArgs(args: Record<string, Json>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, decode(v)]));
}

function report(job: JobRecord, options: RunOptions): void {
  if (options.json) {
    const out: Record<string, unknown> = { job_id: job.id, status: job.status, result: job.result };
    if (job.error) out.error = job.error;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (job.status === 'success') {
    process.stdout.write(`${JSON.stringify(job.result, null, 2)}\n`);
    return;
  }
  const paint = painter(process.stderr);
  const error = job.error;
  process.stderr.write(paint('red', `job ${job.id} ${job.status}: ${error ? `${error.name}: ${error.message}` : ''}\n`));
  if (error?.stack) process.stderr.write(`${paint('gray', error.stack)}\n`);
}
