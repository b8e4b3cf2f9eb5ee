import * as errors from './errors.js';
import { MillraceError, TaskError } from './errors.js';
import type { ErrorRecord } from './types.js';

/**
 * Errors ↔ the plain records a failed job, an attempt or a released job stores. Every record
 * is made by `toErrorRecord` (anything thrown) or `errorRecordOf` (a class and a message, for
 * the records millrace writes itself: canceled, released, lease lost), and made an error
 * again by `fromErrorRecord`, so a code means one class on both sides.
 */

type ErrorClass = { readonly code: string; readonly name: string; readonly prototype: MillraceError };

/** Every MillraceError subclass by its code, to rebuild the right one from a record. */
const BY_CODE: ReadonlyMap<string, ErrorClass> = new Map(
  (Object.values(errors) as unknown[])
    // Not `instanceof`: MillraceError's checks a brand that only instances carry.
    .filter(
      (value): value is ErrorClass =>
        typeof value === 'function' && Object.prototype.isPrototypeOf.call(MillraceError, value),
    )
    .map((cls) => [cls.code, cls]),
);

/** Turns anything thrown into the plain record a failed job stores. */
export function toErrorRecord(err: unknown): ErrorRecord {
  if (err instanceof Error) {
    const record: ErrorRecord = { name: err.name, message: err.message, stack: err.stack };
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') record.code = code;
    if (err instanceof TaskError) record.jobId = err.jobId;
    return record;
  }
  return { name: 'Error', message: `A non-Error value was thrown: ${describeThrown(err)}` };
}

/**
 * The record of a failure millrace itself decides (no stack: nothing was thrown), named and
 * coded by its class.
 */
export function errorRecordOf(cls: ErrorClass, message: string): ErrorRecord {
  return { name: cls.name, code: cls.code, message };
}

/**
 * An error made again from its record: the MillraceError subclass its code names (so
 * `instanceof` holds), else a MillraceError; with the record's name, message, code and stack.
 * Only the base's fields are set: a subclass's own fields (a TaskError's job id) are not in a
 * record.
 */
export function fromErrorRecord(record: ErrorRecord): MillraceError {
  const err = new MillraceError(record.message);
  const cls = record.code === undefined ? undefined : BY_CODE.get(record.code);
  if (cls) Object.setPrototypeOf(err, cls.prototype);
  err.name = record.name;
  if (record.code) (err as { code: string }).code = record.code;
  if (record.stack) err.stack = record.stack;
  return err;
}

function describeThrown(value: unknown): string {
  try {
    return typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
  } catch {
    return String(value);
  }
}
