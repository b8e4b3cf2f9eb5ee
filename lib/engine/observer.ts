import type { JobRecord } from '../types.js';

/**
 * What the Coordinator tells an observer as it changes jobs (the server's metrics, the
 * traces): each call comes after the store has committed the change. Every method is optional;
 * an observer must not throw (the Coordinator catches and reports it, and carries on).
 */
export interface CoordinatorObserver {
  /** A job finished for good: success, failure (no attempts left) or canceled. */
  finished?(job: JobRecord): void;
  /** A failed attempt was put back in the queue for the next one. */
  retried?(job: JobRecord): void;
  /** A sweep found jobs whose lease ran out: requeued, or failed when they had lost too many. */
  leasesExpired?(expired: { requeued: readonly JobRecord[]; failed: readonly JobRecord[] }): void;
  /** A running job was given back by its worker (shutdown, a replaced thread). */
  released?(job: JobRecord): void;
}

/** Calls `fn` on each observer; an observer's error is printed, never thrown into the Coordinator's work. */
export function notifyObservers(observers: readonly CoordinatorObserver[], fn: (o: CoordinatorObserver) => void): void {
  for (const o of observers) {
    try {
      fn(o);
    } catch (err) {
      console.error(`millrace: an observer of the coordinator failed: ${(err as Error).message}`);
    }
  }
}
