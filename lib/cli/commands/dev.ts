import { hostname } from 'node:os';
import type { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { DEFAULT_MAX_VERSIONS, Worker } from '../../worker/worker.js';
import { DEFAULT_WORKSPACE } from '../../types.js';
import { devAdminToken, keepAdminToken } from '../admin-token.js';
import { httpUrl, positiveInt, projectRoot, withExecutorOptions, withRootAndStore } from '../options.js';
import { untilSignal } from './server.js';
import { formatDuration, parseDuration } from '../duration.js';

interface DevOptions {
  port: number;
  root?: string;
  db?: string;
  dbPool?: number;
  concurrency?: number;
  threads?: number;
  maxVersions?: number;
  publicUrl?: string;
  grace: number;
}

export function devCommand(program: Command): void {
  withRootAndStore(
    withExecutorOptions(program.command('dev'))
      .summary('a server and one worker in one process, on 127.0.0.1')
      .description('For local work: the HTTP API on 127.0.0.1 and one worker serving every tag, in this process.')
      .option('--port <port>', 'port to listen on (0: any free port)', (v) => (v === '0' ? 0 : positiveInt(v)), 8000)
      .option(
        '--public-url <url>',
        "the address users reach this server at: the base of approvals' resume URLs (default: the listening address)",
        httpUrl,
      )
      .option(
        '--max-versions <n>',
        `versions of the project's modules a thread may hold before it is replaced (default: ${DEFAULT_MAX_VERSIONS})`,
        positiveInt,
      )
      .option(
        '--grace <duration>',
        'on SIGTERM or SIGINT, how long running jobs have to finish before they are released back to the queue',
        parseDuration,
        30_000,
      ),
  ).action(async (options: DevOptions) => {
    // Listened for from the start: a signal before the listener would end the process at once.
    const signaled = untilSignal();
    const root = projectRoot(options);
    const { store, label } = await openStore({ db: options.db, root, poolSize: options.dbPool });
    const admin = devAdminToken(root);
    // Loaded here: the server's modules are a good part of a start that other commands need not pay.
    const { startServer } = await import('../../server/server.js');
    const server = await startServer({
      store,
      root,
      host: '127.0.0.1',
      port: options.port,
      uiSession: true,
      adminToken: admin.token,
      adminTokenLabel: admin.label,
      publicUrl: options.publicUrl,
    });
    // Written before the first line is printed: whoever waits for that line finds the file.
    const tokenFile =
      admin.keepInFile && admin.token
        ? keepAdminToken({ root, token: admin.token, url: server.url, command: 'dev' })
        : undefined;
    if (admin.note && tokenFile) process.stderr.write(`millrace dev: ${admin.note}\n`);
    const worker = new Worker({
      backend: server.coordinator,
      root,
      tags: 'all',
      concurrency: options.concurrency,
      threads: options.threads,
      maxVersions: options.maxVersions,
    });
    // The in-process worker does not heartbeat over HTTP: record it as live here, so the
    // workers page and `millrace workers` list it like any other.
    const touch = () =>
      store
        .touchWorker({ id: worker.id, workspace: DEFAULT_WORKSPACE, tags: 'all', hostname: hostname() }, Date.now())
        .catch((err: unknown) => {
          process.stderr.write(`millrace dev: could not record worker ${worker.id} as live: ${String(err)}\n`);
        });
    await touch();
    const heartbeat = setInterval(() => void touch(), 10_000);
    process.stdout.write(
      `millrace dev on ${server.url}: web UI, server and worker ${worker.id} (every tag), root ${root}, store ${label}\n`,
    );
    if (tokenFile) {
      process.stdout.write(
        `admin token in ${tokenFile} (mode 0600): the CLI and runScript on this machine, in this root, use it without --token\n`,
      );
    } else if (!admin.keepInFile) {
      process.stdout.write('admin token: MILLRACE_TOKEN (no token file written)\n');
    }
    await signaled;
    clearInterval(heartbeat);
    // The worker drains first (its jobs report through this server's coordinator), then the server closes.
    process.stdout.write(`millrace dev: stopping; running jobs have ${formatDuration(options.grace)} to finish\n`);
    const report = await worker.drain(options.grace);
    process.stdout.write(
      `millrace dev: worker stopped (released ${report.releasedClaimed.length} claimed ahead, ${report.releasedRunning.length} still running)\n`,
    );
    await worker.close();
    await server.close();
    await store.close();
  });
}
