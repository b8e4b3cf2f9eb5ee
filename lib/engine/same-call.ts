import { NonDeterminismError } from '../errors.js';
import type { JobRecord, JobSpec, Json } from '../types.js';

/** A replayed call must be the call recorded at its key: same task, same args. */
export function checkSameCall(recorded: JobRecord, spec: JobSpec): void {
  const sameTarget =
    recorded.kind === spec.kind && recorded.entrypoint === spec.entrypoint && recorded.scriptPath === spec.scriptPath;
  if (sameTarget && canonicalJson(recorded.args) === canonicalJson(spec.args)) return;
  const was = `${recorded.kind} ${recorded.entrypoint}(${preview(recorded.args)})`;
  const now = `${spec.kind} ${spec.entrypoint}(${preview(spec.args)})`;
  throw new NonDeterminismError(
    `Job ${spec.parentJob} ran again and made a different call at ${spec.callKey}: it recorded ${was} (job ${recorded.id}), ` +
      `and now calls ${now}. A job must make the same calls, in the same order, with the same args, each time it runs; ` +
      'wrap values that change between runs (the time, random numbers, reads of outside state) in step().',
  );
}

/** JSON with sorted keys: equal values give equal text, whatever their keys' order. */
export function canonicalJson(value: Json | null): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

function preview(args: Json): string {
  const text = JSON.stringify(args);
  const inner = Array.isArray(args) ? text.slice(1, -1) : text;
  return inner.length > 80 ? `${inner.slice(0, 77)}...` : inner;
}
