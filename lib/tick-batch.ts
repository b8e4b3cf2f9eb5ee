/**
 * Collects what is made in one turn of the event loop and hands it over together on the next
 * (`setImmediate`), so that a fan-out's task calls, a busy job's log lines or a tick's inserts
 * cost one request, statement or transaction instead of one each. Items are handed over in
 * the order they were added; an item added while `flush` runs goes in the next batch.
 *
 * `flush` may return a promise: the batch does not wait for it (a caller that must keep
 * flushes in order, one at a time, chains them itself), and a rejection is the caller's to
 * handle, so `flush` should settle each item's waiter itself.
 */
export class TickBatch<T> {
  private items: T[] = [];

  constructor(private readonly flush: (items: T[]) => unknown) {}

  /** Adds an item; the first of a turn schedules the flush. */
  add(item: T): void {
    if (this.items.push(item) === 1) setImmediate(() => void this.flush(this.items.splice(0)));
  }

  /** Items waiting for the next flush. */
  get size(): number {
    return this.items.length;
  }
}

/**
 * A TickBatch whose items go in groups by key (one request per parent and task, say): `flush`
 * gets each key's items, in the order the keys first came up in the turn.
 */
export class KeyedTickBatch<K, T> {
  private readonly batch: TickBatch<[K, T]>;

  constructor(flush: (groups: Map<K, T[]>) => unknown) {
    this.batch = new TickBatch((items) => {
      const groups = new Map<K, T[]>();
      for (const [key, item] of items) {
        const group = groups.get(key);
        if (group) group.push(item);
        else groups.set(key, [item]);
      }
      return flush(groups);
    });
  }

  add(key: K, item: T): void {
    this.batch.add([key, item]);
  }

  get size(): number {
    return this.batch.size;
  }
}
