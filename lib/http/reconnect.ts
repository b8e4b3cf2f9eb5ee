import { setTimeout as sleep } from 'node:timers/promises';
import { ServerUnreachableError } from './api-client.js';

/**
 * How long a client keeps trying to reach a server it lost (a restart, a deploy) before it
 * gives up: long enough for a server to restart and its PostgreSQL to fail over, short enough
 * that a server that is gone for good is reported within a minute.
 */
export const RECONNECT_MS = 60_000;
/** The first wait after a lost connection; each next one doubles, up to RECONNECT_MAX_DELAY_MS. */
const FIRST_DELAY_MS = 100;
const RECONNECT_MAX_DELAY_MS = 2000;

export interface ReconnectOptions {
  /** How long to keep trying, from the first failure in a row. @default RECONNECT_MS */
  budgetMs?: number;
  /** Stops the waits: an aborted wait throws the last error. */
  signal?: AbortSignal;
}

/**
 * The backoff of one client operation that survives a lost server: `failed(err)` waits before
 * the next try (100 ms, doubling up to 2 s) or, once the server has been unreachable for the
 * whole budget, throws a ServerUnreachableError saying so. `reached()` resets the budget: call
 * it whenever the server answered.
 */
export class Reconnect {
  private lostAt: number | undefined;
  private delay = FIRST_DELAY_MS;
  private readonly budgetMs: number;

  constructor(
    private readonly server: string,
    private readonly options: ReconnectOptions = {},
  ) {
    this.budgetMs = options.budgetMs ?? RECONNECT_MS;
  }

  reached(): void {
    this.lostAt = undefined;
    this.delay = FIRST_DELAY_MS;
  }

  async failed(err: ServerUnreachableError): Promise<void> {
    const now = Date.now();
    this.lostAt ??= now;
    const left = this.lostAt + this.budgetMs - now;
    if (left <= 0 || this.options.signal?.aborted) {
      throw new ServerUnreachableError(
        `Lost the millrace server at ${this.server} and could not reach it again within ${this.budgetMs / 1000} s ` +
          `(${err.message}). Jobs on the server go on: follow them with \`millrace logs -f <id>\` once it is back.`,
        { cause: err },
      );
    }
    const wait = Math.min(this.delay, left);
    this.delay = Math.min(this.delay * 2, RECONNECT_MAX_DELAY_MS);
    try {
      await sleep(wait, undefined, { signal: this.options.signal });
    } catch {
      throw err;
    }
  }
}

/** Runs `attempt` until it returns, trying again (with a Reconnect's backoff) while the server is unreachable. */
export async function reconnecting<T>(
  server: string,
  options: ReconnectOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  const reconnect = new Reconnect(server, options);
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ServerUnreachableError) || options.signal?.aborted) throw err;
      await reconnect.failed(err);
    }
  }
}
