import { CanceledError } from '../errors.js';
import { errorRecordOf } from '../error-record.js';
import type { ErrorRecord } from '../types.js';
import type { WorkerBackend } from './backend.js';

export interface LeaseOptions {
  backend: Pick<WorkerBackend, 'renewLeases'>;
  workerId: string;
  leaseMs: number;
  heartbeatMs: number;
  /** The jobs this worker holds: running, and claimed ahead. */
  held: () => string[];
  /** A job is no longer this worker's (canceled, or its lease went to another worker). */
  lost: (jobId: string, error: ErrorRecord) => void;
  warn: (what: string, err: unknown) => void;
}

/** The error a job whose lease is lost is stopped with. */
const LOST = errorRecordOf(CanceledError, 'the job is no longer this worker’s (canceled, or its lease ran out)');

/**
 * Renews the leases of the jobs a worker holds on a timer. A lease that could not be renewed
 * went to another worker (or its job was canceled): the job is no longer this worker's, and
 * another runs it after the lease expires (invariant 6).
 */
export class Leases {
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: LeaseOptions) {
    this.timer = setInterval(() => void this.renew(), options.heartbeatMs);
    // A heartbeat alone must not keep a process alive.
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Renews now (the timer calls this too). */
  async renew(): Promise<void> {
    const { backend, workerId, leaseMs } = this.options;
    try {
      const lost = await backend.renewLeases(workerId, this.options.held(), leaseMs);
      for (const id of lost) this.options.lost(id, LOST);
    } catch (err) {
      this.options.warn('renewing leases', err);
    }
  }
}
