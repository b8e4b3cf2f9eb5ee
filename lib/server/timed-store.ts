import type { Histogram } from 'prom-client';
import type { Store } from '../store/store.js';

/**
 * The store, with the time each verb takes observed into `seconds` (labelled by verb): the
 * store latency of /metrics. A verb that returns no promise (subscribe) is passed through.
 */
export function timedStore(store: Store, seconds: Histogram<'verb'>): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (
        typeof value !== 'function' ||
        typeof property !== 'string' ||
        property === 'subscribe' ||
        property === 'close'
      )
        return value;
      const verb = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const end = seconds.startTimer({ verb: property });
        const result = verb.apply(target, args);
        if (result instanceof Promise) return result.finally(() => end());
        end();
        return result;
      };
    },
  });
}
