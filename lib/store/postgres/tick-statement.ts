import { TickBatch } from '../../tick-batch.js';

interface Pending<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/**
 * A statement made once per tick for every row asked of it in that tick: the rows of a
 * fan-out (1,000 children inserted, started, finished or looked at) cost one statement and one
 * round trip instead of 1,000. A tick with one row runs `one`, the plain statement; more run
 * `many`, which answers in the items' order. Should `many` fail, each item is tried alone, so
 * that an error reaches only the caller whose row caused it.
 */
export class TickStatement<I, R> {
  private readonly batch = new TickBatch<Pending<I, R>>((batch) => this.flush(batch));

  constructor(
    private readonly one: (item: I) => Promise<R>,
    private readonly many: (items: I[]) => Promise<R[]>,
  ) {}

  run(item: I): Promise<R> {
    return new Promise((resolve, reject) => this.batch.add({ item, resolve, reject }));
  }

  private async flush(batch: Pending<I, R>[]): Promise<void> {
    const alone = (p: Pending<I, R>) => this.one(p.item).then(p.resolve, p.reject);
    if (batch.length === 1) return alone(batch[0]);
    let results: R[];
    try {
      results = await this.many(batch.map((p) => p.item));
    } catch {
      // Nothing of the statement was written: each row again, alone.
      await Promise.all(batch.map(alone));
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]));
  }
}
