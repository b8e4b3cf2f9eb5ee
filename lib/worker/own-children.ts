import type { JobRecord, Json } from '../types.js';

export interface Waiter {
  resolve(job: JobRecord): void;
  reject(err: unknown): void;
}

/**
 * Children this worker took as they were recorded (at-once.ts), and the waits on them. Such a
 * child's end is this worker's own report, so a wait on it needs no long poll of its own: it
 * is answered when the server acknowledges the child's success, which it does only once the
 * success is committed (the lease is checked in the write). Any other way the child leaves
 * this worker (a failure, which the server may retry; a release; a lost lease; a refused
 * report) hands its waits to the server's long poll, which answers with the end as recorded.
 */
export class OwnChildren {
  /** The record each child was taken with, until its end is reported or it leaves this worker. */
  private readonly taken = new Map<string, JobRecord>();
  private readonly waiters = new Map<string, Waiter[]>();

  constructor(
    /** Waits this worker cannot answer itself: the server's long poll takes them over. */
    private readonly toServer: (jobId: string, waiters: Waiter[]) => void,
  ) {}

  took(job: JobRecord): void {
    this.taken.set(job.id, job);
  }

  /** Keeps the waiter and answers true when the job is a child this worker took and still holds. */
  wait(jobId: string, waiter: Waiter): boolean {
    if (!this.taken.has(jobId)) return false;
    const list = this.waiters.get(jobId);
    if (list) list.push(waiter);
    else this.waiters.set(jobId, [waiter]);
    return true;
  }

  /** The server acknowledged the child's success: its waits are answered with it. */
  succeeded(jobId: string, result: Json, startedAt: number | undefined, at: number): void {
    const job = this.taken.get(jobId);
    if (!job) return;
    this.taken.delete(jobId);
    const waiters = this.waiters.get(jobId);
    if (!waiters) return;
    this.waiters.delete(jobId);
    const ended: JobRecord = {
      ...job,
      status: 'success',
      result,
      error: null,
      startedAt: startedAt ?? job.startedAt ?? at,
      completedAt: at,
    };
    for (const w of waiters) w.resolve(ended);
  }

  /** The child left this worker in any other way: the server answers its waits. */
  left(jobId: string): void {
    if (!this.taken.delete(jobId)) return;
    const waiters = this.waiters.get(jobId);
    if (!waiters) return;
    this.waiters.delete(jobId);
    this.toServer(jobId, waiters);
  }
}
