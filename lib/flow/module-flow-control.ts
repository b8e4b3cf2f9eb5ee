import { describeValue } from '../describe.js';
import type { FlowControl } from '../types.js';

/**
 * A flow module's flow control in Windmill's names: `concurrency_limit`, `concurrency_key`,
 * `concurrency_time_window_s`, `priority`, `cache_ttl`. Each bad value is a problem naming
 * the field; a key left out is '' here, the step's script path when it runs (withTaskName).
 */
export function moduleFlowControl(
  raw: Record<string, unknown>,
  where: string,
  problem: (at: string, message: string) => void,
): FlowControl | undefined {
  const number = (key: string, ok: (n: number) => boolean, expected: string): number | undefined => {
    const v = raw[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && ok(v)) return v;
    problem(`${where}.${key}`, `expected ${expected}, got ${describeValue(v)}`);
    return undefined;
  };
  const limit = number('concurrency_limit', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const windowS = number('concurrency_time_window_s', (n) => n > 0 && Number.isFinite(n), 'a number of seconds > 0');
  const priority = number(
    'priority',
    (n) => Number.isInteger(n) && Math.abs(n) <= 1_000_000,
    'an integer between -1000000 and 1000000',
  );
  const cacheTtl = number('cache_ttl', (n) => n >= 0 && Number.isFinite(n), 'a number of seconds ≥ 0');
  const key = raw.concurrency_key;
  if (key !== undefined && key !== null && (typeof key !== 'string' || key === ''))
    problem(`${where}.concurrency_key`, `expected a non-empty string, got ${describeValue(key)}`);
  if (limit === undefined && (typeof key === 'string' || windowS !== undefined)) {
    problem(
      `${where}.concurrency_limit`,
      'expected a positive integer with concurrency_key or concurrency_time_window_s, got none',
    );
  }
  const flow: FlowControl = {
    ...(priority !== undefined && priority !== 0 && { priority }),
    ...(limit !== undefined && {
      concurrency: {
        key: typeof key === 'string' ? key : '',
        limit,
        ...(windowS !== undefined && { windowMs: Math.round(windowS * 1000) }),
      },
    }),
    ...(cacheTtl !== undefined && { cacheTtlMs: Math.round(cacheTtl * 1000) }),
  };
  return Object.keys(flow).length > 0 ? flow : undefined;
}
