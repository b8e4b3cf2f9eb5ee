/**
 * Slot accounting (invariant 3), pure: no threads, no timers, no I/O. A job holds one of
 * the `concurrency` slots while its code works and gives it back while it awaits calls, so a
 * parent awaiting children never starves them. The last awaited outcome waits for a free
 * slot (a resumption), and resumptions go before claimed jobs waiting to start, so a run deep
 * in its tree finishes before new ones start.
 */

/** What holds a slot: a running job. */
export interface SlotHolder {
  /** Whether it holds one of the slots (it does unless it awaits calls). */
  slot: boolean;
  /** Calls it awaits. */
  pending: number;
}

/**
 * What to do next: give a free slot to a resumption or a claimed job, or deliver an outcome
 * that needs none (its holder awaits another call).
 */
export type SlotUse<J, R> = { kind: 'resume'; resume: R } | { kind: 'deliver'; resume: R } | { kind: 'start'; job: J };

/** What becomes of a call's outcome: delivered now (other calls still pending), or queued for a slot. */
export type CallEnd = 'deliver' | 'resume';

export class Slots<J, R extends { holder: SlotHolder }> {
  private held = 0;
  /** Claimed jobs waiting to start, in claim order. */
  readonly ready: J[] = [];
  /** Last outcomes waiting for a slot, in arrival order. */
  readonly resumes: R[] = [];
  /** Room held for children being recorded to be taken at once (at-once.ts). */
  reserved = 0;

  constructor(
    readonly concurrency: number,
    /** Jobs claimed ahead of free slots. */
    readonly prefetch: number,
  ) {}

  get free(): number {
    return this.concurrency - this.held;
  }

  /** How many jobs to claim now: free slots plus the prefetch, less those already waiting or reserved. */
  get wanted(): number {
    return this.free + this.prefetch - this.ready.length - this.resumes.length - this.reserved;
  }

  take(holder: SlotHolder): void {
    holder.slot = true;
    this.held++;
  }

  /** Gives a slot back; false when the holder held none. */
  release(holder: SlotHolder): boolean {
    if (!holder.slot) return false;
    holder.slot = false;
    this.held--;
    return true;
  }

  /**
   * The next use, if any. First an outcome queued as its holder's last call whose holder has
   * made another call since (a job that goes on working while it awaits, as `Promise.all` over
   * calls does while it makes them): it is delivered without a slot, as `callEnded` delivers
   * one while other calls are pending. Given a slot, its holder would hold it while it awaits
   * the newer call, and jobs that each hold a slot while their last outcome waits for one
   * would wait for each other for ever. Then, with a free slot, a resumption (its holder
   * takes the slot and one pending call less), then a claimed job (the caller takes the slot
   * when it starts it). Resumptions whose holder is no longer live are dropped.
   */
  next(live: (resume: R) => boolean): SlotUse<J, R> | undefined {
    for (let i = 0; i < this.resumes.length; i++) {
      const resume = this.resumes[i];
      if (resume.holder.pending <= 1) continue;
      this.resumes.splice(i--, 1);
      if (!live(resume)) continue;
      resume.holder.pending--;
      return { kind: 'deliver', resume };
    }
    while (this.free > 0 && this.resumes.length > 0) {
      const resume = this.resumes.shift()!;
      if (!live(resume)) continue;
      resume.holder.pending--;
      this.take(resume.holder);
      return { kind: 'resume', resume };
    }
    if (this.free > 0 && this.ready.length > 0) return { kind: 'start', job: this.ready.shift()! };
    return undefined;
  }

  /** A holder starts awaiting a call: its slot is given back. True when it held one. */
  callStarted(holder: SlotHolder): boolean {
    holder.pending++;
    return this.release(holder);
  }

  /**
   * A call's outcome is in: delivered at once while the holder awaits other calls, else
   * queued as a resumption (`resume`) until a slot is free.
   */
  callEnded(resume: R): CallEnd {
    if (resume.holder.pending > 1) {
      resume.holder.pending--;
      return 'deliver';
    }
    this.resumes.push(resume);
    return 'resume';
  }
}
