import type { Hub } from './hub.js';

/** The claimers remembered at most; past it the memory starts again (each forgotten one looks once more). */
const MAX_CLAIMERS = 10_000;

/**
 * Which claimers found the queue drained, and whether a job was queued since. A worker that
 * took fewer jobs than it asked for has taken all it may; its next claim need not look at the
 * store again until something is queued (every way a job becomes claimable says `queued` on the
 * hub: a submission, a due time come, a retry, a release, a lost lease, a freed concurrency
 * slot, another server's write). Without this, every claim that finds jobs is followed by one
 * that finds none: a statement per task in a sequential run.
 *
 * The mark is read before the claim looks: a job committed after the claim's read is announced
 * after the mark was read, so it moves the mark and the next claim looks.
 */
export class DrainedClaims {
  private mark = 0;
  private readonly drained = new Map<string, number>();

  /** `hub` is the Coordinator's own: the listener lives as long as both. */
  constructor(hub: Hub) {
    hub.on('queued', () => this.mark++);
  }

  /** The mark to hand `looked`, read before the claim looks. */
  get current(): number {
    return this.mark;
  }

  /** Whether `claimer` found the queue drained, and nothing was queued since. */
  unchanged(claimer: string): boolean {
    return this.drained.get(claimer) === this.mark;
  }

  /** What a look of `claimer` found, the mark read before it: fewer jobs than it asked for (drained), or as many. */
  looked(claimer: string, markBefore: number, drained: boolean): void {
    if (!drained) {
      this.drained.delete(claimer);
      return;
    }
    if (this.drained.size >= MAX_CLAIMERS && !this.drained.has(claimer)) this.drained.clear();
    this.drained.set(claimer, markBefore);
  }
}
