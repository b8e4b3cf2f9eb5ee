import { hostname } from 'node:os';
import type { Command } from 'commander';
import { startServer } from '../../server/server.js';
import { openStore } from '../../store/open.js';
import { Worker } from '../../worker/worker.js';
import { DEFAULT_WORKSPACE } from '../../types.js';
import { positiveInt, projectRoot, withRootAndStore, intInRange, MAX_CONCURRENCY } from '../options.js';
import { untilSignal } from './server.js';

interface DevOptions {
  port: number;
  root?: string;
  db?: string;
  dbPool?: number;
  concurrency?: number;
}

export function devCommand(program: Command): void {
  withRootAndStore(
    program
      .command('dev')
      .summary('a server and one worker in one process, on 127.0.0.1')
      .description('For local work: the HTTP API on 127.0.0.1 and one worker serving every tag, in this process.')
      .option('--port <port>', 'port to listen on (0: any free port)', (v) => (v === '0' ? 0 : positiveInt(v)), 8000)
      .option('--concurrency <n>', `jobs working at once, at most ${MAX_CONCURRENCY} (default: CPU count)`, intInRange(1, MAX_CONCURRENCY)),
  ).action(async (options: DevOptions) => {
    const root = projectRoot(options);
    const { store, label } = await openStore({ db: options.db, root, poolSize: options.dbPool });
    const server = await startServer({ store, root, host: '127.0.0.1', port: options.port, uiSession: true, adminToken: process.env.MILLRACE_TOKEN || undefined });
    const worker = new Worker({ backend: server.coordinator, root, tags: 'all', concurrency: options.concurrency });
    // The in-process worker does not heartbeat over HTTP: record it as live here, so the
    // workers page and `millrace workers` list it like any other.
    const touch = () =>
      store.touchWorker({ id: worker.id, workspace: DEFAULT_WORKSPACE, tags: 'all', hostname: hostname() }, Date.now()).catch((err: unknown) => {
        process.stderr.write(`millrace dev: could not record worker ${worker.id} as live: ${String(err)}\n`);
      });
    await touch();
    const heartbeat = setInterval(() => void touch(), 10_000);
    process.stdout.write(`millrace dev on ${server.url}: web UI, server and worker ${worker.id} (every tag), root ${root}, store ${label}\n`);
    if (server.createdAdminToken) process.stdout.write(`admin token (shown once; keep it): ${server.createdAdminToken}\n`);
    await untilSignal();
    clearInterval(heartbeat);
    await worker.close();
    await server.close();
    await store.close();
  });
}
