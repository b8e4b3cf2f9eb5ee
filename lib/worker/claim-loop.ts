import type { JobRecord } from '../types.js';
import type { ClaimRequest } from '../store/store.js';
import type { WorkerBackend } from './backend.js';

export interface ClaimLoopOptions {
  backend: Pick<WorkerBackend, 'claim'>;
  /** What to claim, less the limit. */
  request: Omit<ClaimRequest, 'limit'>;
  /** How many jobs to claim now (slots.ts: free slots + prefetch − waiting); none when ≤ 0. */
  wanted: () => number;
  claimed: (jobs: JobRecord[]) => void;
  signal: AbortSignal;
}

/**
 * Claims jobs while the worker wants some, and sleeps when it wants none until `wake` (a
 * slot freed, a claimed job dropped). A claim is a long poll: it returns when jobs come, or
 * when the signal aborts. A failed claim (server unreachable) is tried again a second later.
 */
export class ClaimLoop {
  private waiter: (() => void) | undefined;
  /** The limit of the claim in flight (0: none): room the jobs it brings will take. */
  asking = 0;
  /** Settles when the loop has stopped (after the signal aborts). */
  readonly done: Promise<void>;

  constructor(private readonly options: ClaimLoopOptions) {
    options.signal.addEventListener('abort', () => this.wake(), { once: true });
    this.done = this.run();
  }

  /** The worker may want jobs again. */
  wake(): void {
    if (this.options.wanted() > 0 || this.options.signal.aborted) this.waiter?.();
  }

  private async run(): Promise<void> {
    const { backend, request, wanted, claimed, signal } = this.options;
    while (!signal.aborted) {
      const limit = wanted();
      if (limit <= 0) {
        await new Promise<void>((resolve) => (this.waiter = resolve));
        this.waiter = undefined;
        continue;
      }
      try {
        this.asking = limit;
        const jobs = await backend.claim({ ...request, limit }, signal);
        this.asking = 0;
        claimed(jobs);
      } catch (err) {
        this.asking = 0;
        if (signal.aborted) return;
        console.error(
          `millrace worker ${request.workerId}: claiming failed, retrying in 1s: ${(err as Error).message}`,
        );
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
}
