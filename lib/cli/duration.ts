import { InvalidArgumentError } from 'commander';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * A duration flag (`--grace 30s`, `--retain 30d`, `--older-than 7d`) in milliseconds: a whole
 * number with a unit of ms, s, m, h, d or w; a bare `0` is zero.
 */
export function parseDuration(value: string): number {
  if (value === '0') return 0;
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(value.trim());
  if (!m)
    throw new InvalidArgumentError(
      `expected a duration such as 30s, 15m, 12h or 7d (units: ms, s, m, h, d, w), got ${JSON.stringify(value)}`,
    );
  return Number(m[1]) * UNITS[m[2]];
}

/** A duration written back for people: the largest unit that divides it. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  for (const unit of ['w', 'd', 'h', 'm', 's']) if (ms % UNITS[unit] === 0) return `${ms / UNITS[unit]}${unit}`;
  return `${ms}ms`;
}
