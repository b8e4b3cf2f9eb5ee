import type { Clock } from '../clock.js';
import type { CoordinatorObserver } from './observer.js';

/** How a Coordinator (coordinator.ts) sweeps, waits, ages priorities and whom it tells. */
export interface CoordinatorOptions {
  /** How often expired leases are looked for. @default 5000 */
  sweepIntervalMs?: number;
  /** Leases a job may lose (its worker died) before it fails. @default 3 */
  maxLostLeases?: number;
  /**
   * Other processes write to the same store (a CLI reading a database that a running
   * `millrace run` writes): waits also wake on this interval, since their events do not
   * reach this process. Unset, waits wake on events only.
   */
  externalWritersPollMs?: number;
  /**
   * The first sweep for expired leases waits this long. A server that comes back after a
   * crash gives its workers time to reconnect and renew the leases of the jobs they still
   * run, rather than sending those jobs to other workers at once. @default 0
   */
  firstSweepDelayMs?: number;
  /** The address users reach this coordinator's server at: the base of resume URLs (approvals). */
  publicUrl?: string;
  /** The engine's time (due times of retries and sleeps, lease sweeps; a test moves it): the store's. @default realClock */
  clock?: Clock;
  /** Told of jobs finished, retried, released and of expired leases (metrics, traces). */
  observers?: readonly CoordinatorObserver[];
  /**
   * Priority aging: a job due this long ago is claimed before every job due since, whatever
   * their priorities (docs/flow-control.md#priority). The store applies it in its claim.
   * @default 300000 (5 minutes)
   */
  priorityAgingMs?: number;
}
