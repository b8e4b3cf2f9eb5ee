/**
 * A value as an error message names what it got: its kind, and for a scalar its JSON, cut
 * short. One wording for every "expected …, got …" in millrace (task options, flow files,
 * route bodies, args, tagged values), so a user reads the same words wherever the input was.
 */

export interface DescribeOptions {
  /**
   * The most characters of a scalar's JSON shown before it is cut with `…`.
   * @default 60
   */
  maxChars?: number;
}

export function describeValue(value: unknown, options: DescribeOptions = {}): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  // PostgreSQL's text cannot hold a NUL, so the routes refuse it: say so, not just "a string".
  if (typeof value === 'string' && value.includes('\0'))
    return `a string with a NUL character (${JSON.stringify(value.slice(0, 40))})`;
  if (typeof value === 'object') return 'an object';
  // JSON.stringify throws on a bigint and gives undefined for a function or a symbol.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects were answered above: String() sees a function or a symbol
  const text = typeof value === 'bigint' ? String(value) : (JSON.stringify(value) ?? String(value));
  const max = options.maxChars ?? 60;
  return `${typeof value} ${text.length > max ? `${text.slice(0, max)}…` : text}`;
}
