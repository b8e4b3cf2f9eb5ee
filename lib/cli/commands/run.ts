import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Engine } from '../../engine/engine.js';
import { ArgsError, NoMainError } from '../../errors.js';
import { parseCliArgs } from '../../loader/args.js';
import { plain } from '../../http/windmill.js';
import { decode } from '../../serialize.js';
import type { JobRecord, Json } from '../../types.js';
import { formatLogLine, painter } from '../format.js';
import { writeOut } from '../write.js';
import { EmbeddedEngine } from '../../engine/embedded.js';
import {
  type EngineOptions,
  openEngine,
  projectRoot,
  serverUrl,
  withEngineOptions,
  withExecutorOptions,
  withRootAndDb,
} from '../options.js';
import { warnAboutUnservedTags } from '../tag-warning.js';

interface RunOptions extends EngineOptions {
  tag?: string;
  args?: string;
  concurrency?: number;
  threads?: number;
  quiet?: boolean;
}

export function runCommand(program: Command): void {
  withEngineOptions(
    withExecutorOptions(program.command('run'))
      .summary('run a script or a flow: stream its log, print its result')
      .description(
        "Run a script or a flow (a .flow.yaml / .flow.json file, whose schema gives the args), on the embedded engine or (with --server) on a server. Its log (with every task's lines, marked) streams to stderr;\n" +
          'its result is printed to stdout as JSON. Exit code 0 when the run succeeded, 1 when it failed.\n\n' +
          "millrace's own options come before the script; everything after it is an arg for main:\n" +
          '  millrace run --db /tmp/x.db examples/heavy.ts --n 3\n' +
          '  millrace run examples/heavy.ts --args \'{"n":3}\'',
      )
      .argument(
        '<script>',
        'the script: a file (examples/heavy.ts) or a script path (examples/heavy); or a flow file (examples/flows/orders.flow.yaml)',
      )
      .argument('[args...]', "args for main, as --name value (coerced to main's parameter types)")
      .option('--tag <tag>', 'tag of the root job')
      .option('--args <json>', 'args for main as one JSON object')
      .option('--quiet', 'do not print the log'),
  )
    .passThroughOptions()
    .action(async (script: string, words: string[], options: RunOptions) => {
      process.exitCode = await run(script, words, options);
    });
}

/** `millrace resume <id>`: takes over the run of a `millrace run` that was killed. */
export function resumeCommand(program: Command): void {
  withRootAndDb(
    withExecutorOptions(program.command('resume'))
      .summary('finish the run of a killed `millrace run`')
      .description(
        'Take over a run whose `millrace run` process died: its running jobs go back to the queue, and this process runs\n' +
          'what is left, replaying the calls already recorded (completed tasks are not run again). Then it streams the log\n' +
          'and prints the result, as `run` does. Only for runs no live process is driving. Runs on a server need no\n' +
          'resuming: the server gives the jobs of a dead worker to others.',
      )
      .argument('<id>', "the run's root job id (a unique prefix is enough)")
      .option('--json', 'print { job_id, status, result } as one JSON line; no log')
      .option('--quiet', 'do not print the log'),
  ).action(async (idArg: string, options: RunOptions) => {
    const engine = new EmbeddedEngine({
      root: projectRoot(options),
      db: options.db,
      concurrency: options.concurrency,
      threads: options.threads,
    });
    try {
      const job = await engine.resume(await engine.resolveId(idArg));
      process.exitCode = await follow(engine, job, { ...options, quiet: options.quiet || options.json });
    } finally {
      await engine.close();
    }
  });
}

async function run(scriptArg: string, words: string[], options: RunOptions): Promise<number> {
  const engine = await openEngine({ ...options, worker: true });
  try {
    // A local file path is the same script on a server's side, relative to the project root.
    const base = options.root ? projectRoot(options) : process.cwd();
    const path = serverUrl(options) ? scriptArg : resolve(base, scriptArg);
    // Refuse bad args before anything is submitted.
    const script = await engine.signature(path);
    if (!script.signature.hasMain) throw new NoMainError(script.path, script.signature.exports);
    const fromFlag = options.args === undefined ? [] : ['--args', options.args];
    const { args, problems } = parseCliArgs(script.signature, [...fromFlag, ...words]);
    if (problems.length > 0) throw new ArgsError(script.path, problems);
    return await follow(engine, await engine.submit({ path, args: decodeArgs(args), tag: options.tag }), options);
  } finally {
    await engine.close();
  }
}

async function follow(engine: Engine, job: JobRecord, options: RunOptions): Promise<number> {
  const paint = painter(process.stderr);
  // The id first, so that whoever reads the output can follow the run whatever happens next.
  if (options.json) process.stdout.write(`${JSON.stringify({ job_id: job.id })}\n`);
  else process.stderr.write(paint('gray', `job ${job.id}  ${job.scriptPath}\n`));
  const onSigint = () => {
    process.stderr.write(`\ncanceling job ${job.id}…\n`);
    void engine.cancel(job.id, 'interrupted from the terminal (Ctrl-C)');
  };
  process.once('SIGINT', onSigint);
  const stopWarning = warnAboutUnservedTags(engine, job.id, (text) =>
    process.stderr.write(paint('yellow', `${text}\n`)),
  );
  try {
    if (!options.quiet) {
      for await (const line of engine.logs(job.id, { follow: true })) {
        await writeOut(process.stderr, `${formatLogLine(line, paint)}\n`);
      }
    }
    const done = await engine.wait(job.id);
    report(done, options);
    return done.status === 'success' ? 0 : 1;
  } finally {
    stopWarning();
    process.off('SIGINT', onSigint);
  }
}

function decodeArgs(args: Record<string, Json>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, decode(v, `--args ${k}`)]));
}

function report(job: JobRecord, options: RunOptions): void {
  if (options.json) {
    const out: Record<string, unknown> = { job_id: job.id, status: job.status, result: plain(job.result) };
    if (job.error) out.error = job.error;
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  if (job.status === 'success') {
    process.stdout.write(`${JSON.stringify(plain(job.result), null, 2)}\n`);
    return;
  }
  const paint = painter(process.stderr);
  const error = job.error;
  process.stderr.write(
    paint('red', `job ${job.id} ${job.status}: ${error ? `${error.name}: ${error.message}` : ''}\n`),
  );
  if (error?.stack) process.stderr.write(`${paint('gray', error.stack)}\n`);
}
