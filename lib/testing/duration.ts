import { describeValue } from '../describe.js';
import { ConfigError } from '../errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A duration as tests write it: '3d', '1h30m', '90s', '250ms', '2w', or a number of
 * milliseconds.
 */
export function durationMs(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else if (typeof value === 'string' && /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/.test(value.trim())) {
    let ms = 0;
    for (const [, n, , unit] of value.trim().matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(n) * UNIT_MS[unit];
    return Math.round(ms);
  }
  throw new ConfigError(
    `duration: expected a number of milliseconds ≥ 0 or a text such as '3d', '1h30m', '90s', '250ms', got ${describeValue(value)}`,
  );
}
