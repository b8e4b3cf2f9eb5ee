import type { JobRecord } from '../types.js';
import type { ChildCall } from './protocol.js';
import type { Slots } from './slots.js';

export interface AtOnceOptions {
  /** The tags the worker serves, or 'all'. */
  tags: readonly string[] | 'all';
  /** The worker's slots: what it wants now, the room reserved, the claimed jobs waiting. */
  slots: Pick<Slots<JobRecord, never>, 'wanted' | 'reserved' | 'ready'>;
  /** How many jobs the claim in flight may still bring (claim-loop.ts): room already spoken for. */
  asking: () => number;
  /** Whether the worker stopped claiming (a drain): it takes nothing more. */
  stopped: () => boolean;
  /** Hands out free slots and wakes the claim loop (worker.ts's pump). */
  pump: () => void;
}

/**
 * Children a worker takes as they are recorded. A job that awaits a call frees its slot; when
 * the worker would claim a job now, serves the child's tag, and nothing holds the child back
 * (a delay, a concurrency or rate key), the child is inserted already claimed by this worker
 * (Store.enqueue's claim) and starts in that slot, with no claim between: a statement and a
 * wake-up less per awaited task.
 *
 * Room for the child is reserved when the call arrives, before the freed slot wakes the claim
 * loop: what the worker wants (slots.ts) counts it, so the claim loop never asks for the same
 * room, and the worker holds no more jobs than a claim would have given it. The room is
 * settled once the child is recorded, taken or not.
 */
export class AtOnce {
  constructor(private readonly options: AtOnceOptions) {}

  /**
   * Whether `call` is taken as it is recorded; if so, room is reserved for it until `settle`.
   * `freeing`: its caller holds a slot, which the call is about to free.
   */
  reserve(call: ChildCall, freeing: boolean): boolean {
    const { tags, slots, asking, stopped } = this.options;
    if (call.kind !== 'task' || call.detach || call.seconds !== undefined || call.flowControl) return false;
    if (stopped() || (tags !== 'all' && !tags.includes(call.tag))) return false;
    if (slots.wanted + (freeing ? 1 : 0) - asking() <= 0) return false;
    slots.reserved++;
    return true;
  }

  /** The reserved room is settled: with the child taken, or without (recorded already, or it must queue). */
  settle(taken: JobRecord | undefined): void {
    const { slots, pump } = this.options;
    slots.reserved--;
    if (taken) slots.ready.push(taken);
    pump();
  }
}
