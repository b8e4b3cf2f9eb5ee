import { ConfigError } from '../errors.js';

/** How long a job's start is held back before it is written on its own. */
export const START_HOLD_MS = 20;

/**
 * Job starts, each held back a moment before it is written. A job that ends within
 * START_HOLD_MS of its start has its start written with its end, in the end's write (Store.finish's
 * `startedAt`): a short task costs a write less, and through a server a report and a statement
 * less. A job that runs longer has its start written when its hold runs out. The time recorded is
 * the executor's stamp either way; only the write waits. A job whose start was never written (its
 * worker died within the hold) is still running, claimed and leased: what is lost is when it
 * started, not that it ran.
 */
export class HeldStarts {
  /** Held starts in the order they came, which is the order their holds run out. */
  private readonly held = new Map<string, { at: number; until: number }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly record: (jobId: string, at: number) => Promise<unknown>,
    private readonly warn: (what: string, err: unknown) => void,
    private readonly holdMs = START_HOLD_MS,
  ) {
    if (!Number.isFinite(holdMs) || holdMs < 0)
      throw new ConfigError(`startHoldMs: expected a number of milliseconds ≥ 0, got ${String(holdMs)}`);
  }

  private write(jobId: string, at: number): void {
    this.record(jobId, at).catch((err) => this.warn(`recording the start of ${jobId}`, err));
  }

  hold(jobId: string, at: number): void {
    if (this.holdMs <= 0) return this.write(jobId, at);
    this.held.set(jobId, { at, until: performance.now() + this.holdMs });
    this.timer ??= setTimeout(() => this.due(), this.holdMs).unref();
  }

  /** The held start of a job that is ending, which its end records; undefined when none is held. */
  take(jobId: string): number | undefined {
    const start = this.held.get(jobId);
    this.held.delete(jobId);
    return start?.at;
  }

  /** Writes a job's held start now (it ends some other way than with an end of its own). */
  flush(jobId: string): void {
    const at = this.take(jobId);
    if (at !== undefined) this.write(jobId, at);
  }

  private due(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [jobId, { at, until }] of this.held) {
      if (until > now) {
        this.timer = setTimeout(() => this.due(), until - now).unref();
        return;
      }
      this.held.delete(jobId);
      this.write(jobId, at);
    }
  }
}
