import type { Store } from '../store/store.js';
import type { JobEndObserver } from './job-spans.js';
import { tracingEnabled } from './sdk.js';

/** Job spans for a coordinator made synchronously (the embedded engine's): the SDK loads in the background. */
export interface LazyJobSpans {
  observer: JobEndObserver;
  close(): Promise<void>;
}

/**
 * With tracing on, an observer that hands each finished job to JobSpans once it has loaded (a
 * job that finishes first waits for it); undefined with tracing off, and nothing is imported.
 */
export function lazyJobSpans(store: Store, serviceName: string): LazyJobSpans | undefined {
  if (!tracingEnabled()) return undefined;
  const spans = import('./job-spans.js').then(({ JobSpans }) => JobSpans.open(store, serviceName));
  spans.catch((err: unknown) =>
    console.error(`millrace: traces are off, the OpenTelemetry SDK did not start: ${(err as Error).message}`),
  );
  const waiting = new Set<Promise<void>>();
  return {
    observer: {
      finished(job) {
        const handed = spans.then((s) => s.observer.finished?.(job)).catch(() => undefined);
        waiting.add(handed);
        void handed.finally(() => waiting.delete(handed));
      },
    },
    async close() {
      await Promise.all(waiting);
      await (await spans.catch(() => undefined))?.close();
    },
  };
}
