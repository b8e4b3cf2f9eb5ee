/** An OpenFlow value as read from a file, before it is checked: plain objects of unknown fields. */
export type Obj = Record<string, unknown>;

/** How a check reports a problem: where (the field's path in the file) and what is wrong. */
export type Problem = (at: string, message: string) => void;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every module id in a list of raw modules, nested ones included. */
export function collectIds(modules: unknown[]): Set<string> {
  const ids = new Set<string>();
  const walk = (list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const m of list) {
      if (!isObj(m)) continue;
      if (typeof m.id === 'string') ids.add(m.id);
      const v = m.value;
      if (!isObj(v)) continue;
      walk(v.modules);
      walk(v.default);
      if (Array.isArray(v.branches)) for (const b of v.branches) if (isObj(b)) walk(b.modules);
    }
  };
  walk(modules);
  return ids;
}
