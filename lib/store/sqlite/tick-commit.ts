import type Database from 'better-sqlite3';

/**
 * One commit per turn of the event loop. The first write of a turn opens a transaction
 * (BEGIN IMMEDIATE) and schedules its commit for the next turn; every write in the turn is a
 * savepoint of its own, so a failing one undoes only itself. A burst of writes (a fan-out's
 * children) costs one commit, and no caller that waits hears of a write before it is durable.
 *
 * Not a TickBatch: the transaction must open at the first write of a turn whether or not its
 * caller waits (claims do not), and `close` must commit at once and settle the waiters with
 * that commit's result, where a TickBatch holds its items until its next turn.
 */
export class TickCommit {
  /** Callers of writes in this turn's transaction, settled when it commits. */
  private waiting: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(private readonly db: Database.Database) {}

  /** Runs `fn` as a savepoint of this turn's transaction; resolves at once, or after the commit with `awaitCommit`. */
  run<T>(fn: () => T, options: { awaitCommit: boolean }): Promise<T> {
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN IMMEDIATE');
      setImmediate(() => this.commit());
    }
    let value: T;
    try {
      value = this.db.transaction(fn)();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!options.awaitCommit) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => this.waiting.push({ resolve: () => resolve(value), reject }));
  }

  /** Settles with the commit of the open transaction (at once when none is open); rejects when it failed. */
  committed(): Promise<void> {
    if (!this.db.inTransaction) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Commits the open transaction, if any (a closed file has none), and settles its waiters. */
  commit(): void {
    const waiting = this.waiting.splice(0);
    try {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of waiting) w.reject(err);
      return;
    }
    for (const w of waiting) w.resolve();
  }
}
