/**
 * In-process events, keyed by topic: `finished:<id>`, `logs:<id>`, `queued`, `canceled`, and
 * `ended` (ids another server finished, or none: any may have).
 * Subscribers get a function that unsubscribes. A topic with many subscribers (a run's
 * root followed by many clients) costs nothing per unrelated event.
 */
export class Hub {
  private readonly topics = new Map<string, Set<(payload: unknown) => void>>();
  private readonly finishedTaps: ((jobId: string) => void)[] = [];

  /** Hears the id of every `finished:<id>` emitted, whether or not anyone listens to it. */
  tapFinished(tap: (jobId: string) => void): void {
    this.finishedTaps.push(tap);
  }

  on<T>(topic: string, listener: (payload: T) => void): () => void {
    let set = this.topics.get(topic);
    if (!set) this.topics.set(topic, (set = new Set()));
    set.add(listener as (payload: unknown) => void);
    return () => {
      set.delete(listener as (payload: unknown) => void);
      if (set.size === 0 && this.topics.get(topic) === set) this.topics.delete(topic);
    };
  }

  emit(topic: string, payload?: unknown): void {
    if (this.finishedTaps.length > 0 && topic.startsWith('finished:')) {
      for (const tap of this.finishedTaps) tap(topic.slice('finished:'.length));
    }
    const set = this.topics.get(topic);
    if (!set) return;
    for (const listener of [...set]) listener(payload);
  }

  /** Resolves on the first event of any of `topics`; `cancel` unsubscribes without waiting. */
  next(topics: readonly string[], signal?: AbortSignal): { promise: Promise<void>; cancel: () => void } {
    const offs: (() => void)[] = [];
    let done!: () => void;
    const promise = new Promise<void>((resolve) => (done = resolve));
    const cancel = () => {
      for (const off of offs.splice(0)) off();
      signal?.removeEventListener('abort', fire);
    };
    const fire = () => {
      cancel();
      done();
    };
    for (const t of topics) offs.push(this.on(t, fire));
    if (signal) {
      if (signal.aborted) fire();
      else signal.addEventListener('abort', fire, { once: true });
    }
    return { promise, cancel };
  }

  /** The topics that have subscribers and start with `prefix`. */
  topicsStartingWith(prefix: string): string[] {
    return [...this.topics.keys()].filter((t) => t.startsWith(prefix));
  }

  listenerCount(topic: string): number {
    return this.topics.get(topic)?.size ?? 0;
  }
}
