import { KeyedTickBatch } from '../tick-batch.js';
import type { NewLogLine } from '../types.js';
import type { WorkerBackend } from './backend.js';

/**
 * A worker's log lines on their way to the backend: the lines of one turn of the event loop
 * go together (one append per job, a request or a statement each instead of one per line),
 * and every write goes in one chain, so a job's lines are stored in the order they were
 * printed, and before what is chained after them (its children, its flow status, its end).
 */
export class LogBuffer {
  private readonly batch: KeyedTickBatch<string, NewLogLine>;
  private chain: Promise<void> = Promise.resolve();
  /** Settles when every write chained so far has been handed to the backend (handedOver). */
  private handed: Promise<void> = Promise.resolve();

  constructor(
    private readonly backend: Pick<WorkerBackend, 'appendLogs' | 'reportsInOrder'>,
    private readonly warn: (what: string, err: unknown) => void,
  ) {
    this.batch = new KeyedTickBatch((groups) => {
      const append = (jobId: string, lines: NewLogLine[]) =>
        this.backend.appendLogs(jobId, lines).catch((err) => this.warn(`writing the log of ${jobId}`, err));
      if (this.backend.reportsInOrder) {
        // Every job's lines made at once: the backend applies them in that order all the same.
        this.report(async () => {
          await Promise.all([...groups].map(([jobId, lines]) => append(jobId, lines)));
        });
      } else {
        this.then(async () => {
          for (const [jobId, lines] of groups) await append(jobId, lines);
        });
      }
    });
  }

  add(jobId: string, line: NewLogLine): void {
    this.batch.add(jobId, line);
  }

  /**
   * Resolves when every line buffered so far is stored. Lines of this turn are flushed on the
   * next one (setImmediate callbacks run in the order they were scheduled, so the batch's
   * flush has been chained by the time this one runs).
   */
  async flushed(): Promise<void> {
    if (this.batch.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    return this.chain;
  }

  /**
   * Resolves when every line buffered so far has been handed to the backend: for a backend
   * whose reports are applied in order (WorkerBackend.reportsInOrder), a report made now is
   * applied after them, so a job's end goes in the same request as its last lines, or the
   * next, rather than after their answer. For any other backend, when they are stored.
   */
  async handedOver(): Promise<void> {
    if (this.batch.size > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    return this.handed;
  }

  /**
   * Runs `write` after every write chained so far; lines still in this turn's batch go after
   * it, as they would had it been one of them.
   */
  then(write: () => Promise<void>): void {
    this.chain = this.chain.then(write);
    this.handed = this.chain;
  }

  /**
   * As `then`, for a write the backend makes as a report (lines, flow status, progress): to a
   * backend whose reports are applied in order, it is handed over once it is made.
   */
  report(write: () => Promise<void>): void {
    if (!this.backend.reportsInOrder) return this.then(write);
    let made!: () => void;
    this.handed = new Promise<void>((resolve) => (made = resolve));
    this.chain = this.chain.then(() => {
      const written = write();
      made();
      return written;
    });
  }
}
