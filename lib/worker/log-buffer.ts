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

  constructor(
    private readonly backend: Pick<WorkerBackend, 'appendLogs'>,
    private readonly warn: (what: string, err: unknown) => void,
  ) {
    this.batch = new KeyedTickBatch((groups) => {
      this.then(async () => {
        for (const [jobId, lines] of groups) {
          await this.backend.appendLogs(jobId, lines).catch((err) => this.warn(`writing the log of ${jobId}`, err));
        }
      });
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
   * Runs `write` after every write chained so far; lines still in this turn's batch go after
   * it, as they would had it been one of them.
   */
  then(write: () => Promise<void>): void {
    this.chain = this.chain.then(write);
  }
}
