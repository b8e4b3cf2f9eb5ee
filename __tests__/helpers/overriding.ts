/**
 * `target` with some of its methods replaced: a real store or coordinator whose other verbs are
 * its own (bound to it), for a test that watches or holds back one of them.
 */
export function overriding<T extends object>(target: T, verbs: { [K in keyof T]?: T[K] }): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (Object.hasOwn(verbs, property)) return verbs[property as keyof T];
      const value: unknown = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
    },
  });
}
