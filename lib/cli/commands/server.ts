import type { Command } from 'commander';
import { openStore } from '../../store/open.js';
import { keepAdminToken, serverAdminToken } from '../admin-token.js';
import { parseDuration } from '../duration.js';
import { httpUrl, nonNegativeInt, positiveInt, projectRoot, withRootAndStore } from '../options.js';

interface ServerOptions {
  host: string;
  port: number;
  root?: string;
  db?: string;
  dbPool?: number;
  bodyLimit?: number;
  sweepMs?: number;
  restartGraceMs?: number;
  publicUrl?: string;
  retain: number;
  metricsToken?: string;
  priorityAging?: number;
}

/** `--retain`'s default: finished runs are kept 30 days. */
export const DEFAULT_RETAIN_MS = 30 * 86_400_000;

export function serverCommand(program: Command): void {
  withRootAndStore(
    program
      .command('server')
      .summary('serve the HTTP API over a store')
      .description(
        'Serve the HTTP API (Windmill-compatible job routes, and the worker routes) over a store.\n' +
          'Workers connect with `millrace worker --server URL --token T`. At first start, an admin token\n' +
          'is created, printed, and kept in <root>/.millrace/admin-token.json (mode 0600) for clients on this\n' +
          'machine, unless MILLRACE_TOKEN gives one. Several servers can share one PostgreSQL\n' +
          'database (--db postgres://… or DATABASE_URL): see docs/scale-out.md.',
      )
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port to listen on (0: any free port)', (v) => (v === '0' ? 0 : positiveInt(v)), 8000)
      .option('--body-limit <bytes>', 'largest request body accepted (default: 10 MiB)', positiveInt)
      .option(
        '--sweep-ms <ms>',
        'how often jobs of dead workers (expired leases) are looked for (default: 2000)',
        positiveInt,
      )
      .option(
        '--public-url <url>',
        "the address users reach this server at: the base of approvals' resume URLs (default: the listening address)",
        httpUrl,
      )
      .option(
        '--retain <duration>',
        'delete finished runs older than this, checked every hour (0 keeps everything)',
        parseDuration,
        DEFAULT_RETAIN_MS,
      )
      .option(
        '--metrics-token <token>',
        'a token that reaches GET /metrics only, for a Prometheus scraper (env MILLRACE_METRICS_TOKEN)',
      )
      .option(
        '--priority-aging <duration>',
        'a job due this long ago is claimed before any higher-priority job due since (default: 5m)',
        parseDuration,
      )
      .option(
        '--restart-grace-ms <ms>',
        'after a start, how long workers have to renew their leases before their jobs go to others (default: 5000)',
        nonNegativeInt,
      ),
  ).action(async (options: ServerOptions) => {
    // Listened for from the start: a signal before the listener would end the process at once.
    const signaled = untilSignal();
    const root = projectRoot(options);
    const { store, label } = await openStore({ db: options.db, root, poolSize: options.dbPool });
    const admin = await serverAdminToken(root, store);
    // Loaded here: the server's modules are a good part of a start that other commands need not pay.
    const { startServer } = await import('../../server/server.js');
    const server = await startServer({
      store,
      root,
      host: options.host,
      port: options.port,
      bodyLimit: options.bodyLimit,
      sweepIntervalMs: options.sweepMs,
      restartGraceMs: options.restartGraceMs,
      priorityAgingMs: options.priorityAging,
      publicUrl: options.publicUrl,
      retainMs: options.retain,
      metricsToken: options.metricsToken ?? (process.env.MILLRACE_METRICS_TOKEN || undefined),
      adminToken: admin.token,
      adminTokenLabel: admin.label,
    });
    // The token this server made itself, or the one its token file already held, is kept in
    // the token file with this start's URL, so that clients on this machine need no copy.
    const kept = server.createdAdminToken ?? (admin.keepInFile ? admin.token : undefined);
    const tokenFile = kept ? keepAdminToken({ root, token: kept, url: server.url, command: 'server' }) : undefined;
    if (admin.note && tokenFile) process.stderr.write(`millrace server: ${admin.note}\n`);
    if (server.createdAdminToken)
      process.stdout.write(`admin token (shown once; keep it): ${server.createdAdminToken}\n`);
    if (tokenFile)
      process.stdout.write(
        `admin token in ${tokenFile} (mode 0600): the CLI and runScript on this machine, in this root, use it without --token\n`,
      );
    process.stdout.write(`millrace server listening on ${server.url} (root ${root}, store ${label})\n`);
    await signaled;
    await server.close();
    await store.close();
  });
}

/** Resolves on SIGINT or SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
