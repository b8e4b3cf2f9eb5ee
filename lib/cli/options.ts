import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { EmbeddedEngine } from '../engine/embedded.js';

/** Options every command that opens the store takes. Flag > environment > default. */
export interface StoreOptions {
  root?: string;
  db?: string;
  json?: boolean;
}

export function withStoreOptions(cmd: Command): Command {
  return cmd
    .option('--root <dir>', 'project root that script paths are resolved under (env MILLRACE_ROOT; default: the current directory)')
    .option('--db <file>', 'SQLite file, or :memory: (env MILLRACE_DB; default: <root>/.millrace/millrace.db)')
    .option('--json', 'print machine-readable JSON');
}

export function projectRoot(options: StoreOptions): string {
  return resolve(options.root ?? process.env.MILLRACE_ROOT ?? process.cwd());
}

/** An embedded engine over the store; `worker: false` for commands that only read. */
export function openEngine(options: StoreOptions & { worker: boolean; concurrency?: number; threads?: number }): EmbeddedEngine {
  return new EmbeddedEngine({
    root: projectRoot(options),
    db: options.db,
    worker: options.worker,
    concurrency: options.concurrency,
    threads: options.threads,
  });
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
