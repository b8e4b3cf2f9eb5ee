import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EmbeddedEngine } from '../engine/embedded.js';
import type { Engine } from '../engine/engine.js';
import { HttpEngine } from '../engine/http-engine.js';
import { ConfigError } from '../errors.js';
import { resolveServerToken } from '../http/server-token.js';
import type { ServerToken } from '../http/token-source.js';
import { DEFAULT_POOL_SIZE, isPostgresUrl } from '../store/postgres/url.js';
import { MAX_THREADS } from '../worker/pool.js';

export { MAX_THREADS };

/** Options of every command that talks to an engine. Flag > environment > default. */
export interface EngineOptions {
  root?: string;
  db?: string;
  json?: boolean;
  server?: string;
  token?: string;
  workspace?: string;
}

export function withRootAndDb(cmd: Command): Command {
  return cmd
    .option(
      '--root <dir>',
      'project root that script paths are resolved under (env MILLRACE_ROOT; default: the current directory)',
    )
    .option('--db <file>', 'SQLite file, or :memory: (env MILLRACE_DB; default: <root>/.millrace/millrace.db)');
}

/** `--root`, `--db` and `--db-pool` of the commands that open a store themselves (server, dev, token, migrate). */
export function withRootAndStore(cmd: Command): Command {
  return cmd
    .option(
      '--root <dir>',
      'project root that script paths are resolved under (env MILLRACE_ROOT; default: the current directory)',
    )
    .option(
      '--db <file|url>',
      'a SQLite file, :memory:, or a postgres:// URL (env MILLRACE_DB, or DATABASE_URL when it is a postgres:// URL; default: <root>/.millrace/millrace.db)',
    )
    .option(
      '--db-pool <n>',
      `PostgreSQL connections this process opens at most (env MILLRACE_DB_POOL; default: ${DEFAULT_POOL_SIZE})`,
      positiveInt,
    );
}

export function withEngineOptions(cmd: Command): Command {
  return withRootAndDb(cmd)
    .option('--server <url>', 'talk to a millrace server instead of the embedded engine (env MILLRACE_SERVER)')
    .option(
      '--token <token>',
      'token for the server (env MILLRACE_TOKEN; default, for a server on this machine of the same root: its token file)',
    )
    .option('--workspace <name>', 'workspace on the server (env MILLRACE_WORKSPACE; default: default)')
    .option('--json', 'print machine-readable JSON');
}

export function projectRoot(options: { root?: string }): string {
  return resolve(options.root ?? process.env.MILLRACE_ROOT ?? process.cwd());
}

export function serverUrl(options: EngineOptions): string | undefined {
  return options.server ?? (process.env.MILLRACE_SERVER || undefined);
}

/**
 * The token for `server`: --token > MILLRACE_TOKEN > the token file of the root, when the
 * server is on this machine and serves that root (http/server-token.ts).
 */
export function serverToken(options: { server: string; token?: string; root?: string }): Promise<ServerToken> {
  const fromEnv = process.env.MILLRACE_TOKEN || undefined;
  const given: ServerToken | undefined =
    options.token !== undefined
      ? { token: options.token, source: { kind: 'flag' } }
      : fromEnv
        ? { token: fromEnv, source: { kind: 'env' } }
        : undefined;
  return resolveServerToken({ server: options.server, given, root: projectRoot(options) });
}

/** The engine the command talks to: a server when one is named, else embedded (`worker: false` only reads). */
export async function openEngine(
  options: EngineOptions & { worker: boolean; concurrency?: number; threads?: number },
): Promise<Engine> {
  const server = serverUrl(options);
  if (server) {
    const { token, source } = await serverToken({ ...options, server });
    return new HttpEngine({
      server,
      token,
      tokenSource: source,
      workspace: options.workspace ?? process.env.MILLRACE_WORKSPACE ?? undefined,
    });
  }
  if (options.db && isPostgresUrl(options.db)) {
    throw new ConfigError(
      '--db: the embedded engine runs on a SQLite file; for PostgreSQL, start `millrace server --db postgres://…` and pass --server URL',
    );
  }
  return new EmbeddedEngine({
    root: projectRoot(options),
    db: options.db,
    worker: options.worker,
    concurrency: options.concurrency,
    threads: options.threads,
  });
}

/** An http(s) URL (`--public-url`). */
export function httpUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw new InvalidArgumentError(`expected an http:// or https:// URL, got ${JSON.stringify(value)}`);
  return value.replace(/\/+$/, '');
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** A commander parser of whole numbers from `min` to `max`, for flags whose range is documented. */
export function intInRange(min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return n;
  };
}

/** The most jobs working at once a worker may be given (`--concurrency`). */
export const MAX_CONCURRENCY = 10_000;

/** `--concurrency` and `--threads`: the executor options of every command that runs jobs here. */
export function withExecutorOptions(cmd: Command): Command {
  return cmd
    .option(
      '--concurrency <n>',
      `jobs working at once, at most ${MAX_CONCURRENCY} (default: CPU count)`,
      intInRange(1, MAX_CONCURRENCY),
    )
    .option(
      '--threads <n>',
      `executor threads, at most ${MAX_THREADS} (default: CPU count)`,
      intInRange(1, MAX_THREADS),
    );
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`expected an integer ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
