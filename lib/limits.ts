import { TooLargeError } from './errors.js';
import type { ErrorRecord, Json } from './types.js';

/**
 * The sizes millrace carries, chosen so that nothing produced within them can be refused by
 * a server with the default body limit: a value's JSON is at most VALUE_LIMIT bytes, which
 * leaves 2 MiB of the body for the request around it; a log line is at most LOG_LINE_LIMIT
 * bytes of UTF-8, which JSON escaping can at worst make 6 times longer (a control character
 * becomes `\u0000`), still under the body limit. The worker splits its reports so that
 * each request stays under REPORT_BUDGET.
 */
const MIB = 1024 * 1024;

/** Largest request body a server accepts by default (`bodyLimit`); larger ones get 413. */
export const BODY_LIMIT = 10 * MIB;
/** Largest value (a job's or task call's args, a result, a step's result), as JSON bytes. */
export const VALUE_LIMIT = 8 * MIB;
/** Longest log line kept whole, in UTF-8 bytes; a longer one is cut, with a marker. */
export const LOG_LINE_LIMIT = 1 * MIB;
/** What a worker puts in one report request at most (its events' JSON). */
export const REPORT_BUDGET = BODY_LIMIT - MIB;
/** The most jobs one claim request may ask for (the server's MAX_PAGE refuses more). */
export const MAX_CLAIM = 10_000;

/** Longest error message or stack kept whole in a failed job's record, in UTF-8 bytes. */
export const ERROR_TEXT_LIMIT = 256 * 1024;

/** Throws a TooLargeError if `value`'s JSON is over VALUE_LIMIT; returns its size in bytes. */
export function checkValueSize(value: Json, what: string, limit = VALUE_LIMIT): number {
  const text = JSON.stringify(value) ?? '';
  // A string's length is at most its UTF-8 size, and its UTF-8 size at most 3 × its length.
  if (text.length * 3 <= limit) return text.length;
  const size = Buffer.byteLength(text);
  if (size > limit) throw new TooLargeError(what, size, limit);
  return size;
}

/** Room kept for the cut marker, so that a cut line is within the limit (and is not cut again). */
const MARKER_ROOM = 40;

/**
 * A log line cut to at most `limit` bytes of UTF-8, marker included (at a character
 * boundary), the marker saying how many bytes were cut: `… [cut 10485760 bytes]`.
 */
export function cutLogLine(line: string, limit = LOG_LINE_LIMIT): string {
  if (line.length * 3 <= limit) return line;
  const size = Buffer.byteLength(line);
  if (size <= limit) return line;
  const kept = new Uint8Array(Math.max(0, limit - MARKER_ROOM));
  // encodeInto writes whole characters only: `read` is where the kept part ends in the string.
  const { read, written } = new TextEncoder().encodeInto(line, kept);
  return `${line.slice(0, read)}… [cut ${size - written} bytes]`;
}

/** An error record whose message and stack are cut to ERROR_TEXT_LIMIT, so that a failure always fits a report. */
export function cutErrorRecord(error: ErrorRecord): ErrorRecord {
  const message = cutLogLine(error.message, ERROR_TEXT_LIMIT);
  const stack = error.stack === undefined ? undefined : cutLogLine(error.stack, ERROR_TEXT_LIMIT);
  return message === error.message && stack === error.stack
    ? error
    : { ...error, message, ...(stack !== undefined && { stack }) };
}
