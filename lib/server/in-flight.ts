/**
 * The requests a server is answering, so that a shutdown can end its long polls and streams
 * (their handlers see the signal abort and answer with what they have) and wait for the rest.
 */
export class InFlight {
  private readonly requests = new Set<AbortController>();
  private idle: (() => void) | undefined;

  /** Tracks a request; the returned function says it is answered. */
  add(controller: AbortController): () => void {
    this.requests.add(controller);
    return () => {
      this.requests.delete(controller);
      if (this.requests.size === 0) this.idle?.();
    };
  }

  get size(): number {
    return this.requests.size;
  }

  /** Aborts every request's signal (long polls answer at once), then waits until all are answered or `ms` pass. */
  async drain(ms: number): Promise<void> {
    for (const c of this.requests) c.abort('shutting down');
    if (this.requests.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.idle = resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }
}
