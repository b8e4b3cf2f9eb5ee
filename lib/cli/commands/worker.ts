import type { Command } from 'commander';
import { ApiClient } from '../../http/api-client.js';
import { HttpBackend } from '../../worker/http-backend.js';
import { DEFAULT_MAX_VERSIONS, Worker } from '../../worker/worker.js';
import { collect, positiveInt, projectRoot, serverToken, withExecutorOptions } from '../options.js';
import { untilSignal } from './server.js';
import { formatDuration, parseDuration } from '../duration.js';

interface WorkerOptions {
  server?: string;
  token?: string;
  workspace?: string;
  tag?: string[];
  concurrency?: number;
  threads?: number;
  maxVersions?: number;
  root?: string;
  leaseMs?: number;
  prefetch?: number;
  grace: number;
}

export function workerCommand(program: Command): void {
  withExecutorOptions(program.command('worker'))
    .summary('run jobs for a server')
    .description(
      'Claim jobs for the given tags from a server and run them on a pool of executor threads.\n' +
        'The worker runs its own checkout of the scripts (under --root): a job whose script differs from\n' +
        'the one submitted is failed, never run.',
    )
    .option('--server <url>', 'the server (env MILLRACE_SERVER)')
    .option(
      '--token <token>',
      'a token of the workspace, worker-only is enough (env MILLRACE_TOKEN; default, for a server on this machine of the same root: its token file)',
    )
    .option('--workspace <name>', 'workspace (env MILLRACE_WORKSPACE; default: default)')
    .option('--tag <tag>', 'a tag to serve; repeatable (default: default)', collect)
    .option(
      '--max-versions <n>',
      `versions of the project's modules a thread may hold before it is replaced (default: ${DEFAULT_MAX_VERSIONS})`,
      positiveInt,
    )
    .option('--root <dir>', 'the checkout scripts are loaded from (default: the current directory)')
    .option('--lease-ms <ms>', 'lease on each claimed job, renewed by heartbeats (default: 30000)', positiveInt)
    .option(
      '--prefetch <n>',
      'jobs claimed ahead of free slots, so a freed slot starts the next job at once (default: 4 × concurrency; 0 leaves every queued job to whichever worker frees a slot first)',
      (v) => (v === '0' ? 0 : positiveInt(v)),
    )
    .option(
      '--grace <duration>',
      'on SIGTERM or SIGINT, how long running jobs have to finish before they are released back to the queue',
      parseDuration,
      30_000,
    )
    .action(async (options: WorkerOptions) => {
      // Listened for from the start: a signal before the listener would end the process at once.
      const signaled = untilSignal();
      const server = options.server ?? process.env.MILLRACE_SERVER ?? '';
      const { token, source } = await serverToken({ server, token: options.token, root: options.root });
      const client = new ApiClient({
        server,
        token,
        tokenSource: source,
        workspace: options.workspace ?? process.env.MILLRACE_WORKSPACE ?? undefined,
      });
      const tags = options.tag?.length ? options.tag : ['default'];
      const backend = new HttpBackend(client, tags);
      const worker = new Worker({
        backend,
        root: projectRoot(options),
        tags,
        concurrency: options.concurrency,
        threads: options.threads,
        maxVersions: options.maxVersions,
        leaseMs: options.leaseMs,
        prefetch: options.prefetch,
        workspace: client.workspace,
      });
      process.stdout.write(
        `millrace worker ${worker.id} serving ${tags.join(', ')} for ${client.server} (workspace ${client.workspace})\n`,
      );
      await signaled;
      // Graceful: no more claims, jobs claimed ahead released now, running ones given the grace period.
      process.stdout.write(
        `millrace worker ${worker.id}: stopping; running jobs have ${formatDuration(options.grace)} to finish\n`,
      );
      const report = await worker.drain(options.grace);
      process.stdout.write(
        `millrace worker ${worker.id}: stopped (released ${report.releasedClaimed.length} claimed ahead, ${report.releasedRunning.length} still running)\n`,
      );
      await worker.close();
      await backend.close();
    });
}
