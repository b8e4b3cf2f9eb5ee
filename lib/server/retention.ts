import type { PruneReport } from '../store/operations.js';
import type { Store } from '../store/store.js';

export interface RetentionOptions {
  store: Store;
  /** Finished runs older than this are deleted; 0 keeps everything (no timer). */
  retainMs: number;
  /** How often to look. @default 1 hour (and once a minute after the start) */
  intervalMs?: number;
  /** Told of each prune that deleted something (the server prints it). */
  onPruned?: (report: PruneReport) => void;
}

/**
 * `millrace server --retain`: prunes finished runs older than `retainMs` on a timer. Every server
 * on one database may run one: prune takes its runs with SKIP LOCKED (PostgreSQL) or in the one
 * writer's turn (SQLite), so two at once delete each run once.
 */
export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: RetentionOptions) {
    if (options.retainMs <= 0) return;
    this.schedule(Math.min(60_000, options.intervalMs ?? 60_000));
  }

  /** One prune now (the timer's work); resolves with its report. */
  async pruneNow(): Promise<PruneReport> {
    const report = await this.options.store.pruneRuns({ finishedBefore: Date.now() - this.options.retainMs });
    if (report.runs > 0) this.options.onPruned?.(report);
    return report;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.running = this.pruneNow()
        .then(() => undefined)
        .catch((err: unknown) =>
          console.error(
            `millrace server: pruning old runs failed (tried again at the next interval): ${(err as Error).message}`,
          ),
        )
        .finally(() => this.schedule(this.options.intervalMs ?? 3_600_000));
    }, ms);
    this.timer.unref();
  }
}
