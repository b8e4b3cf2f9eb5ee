import { SerializationError } from '../errors.js';
import { describeValue } from '../describe.js';
import { decode } from '../serialize.js';
import type { ErrorRecord, Json, RetryOptions } from '../types.js';
import { HttpError } from './http-error.js';
import { MAX_ATTEMPTS, MAX_DELAY_SECS, MAX_TIME_MS } from './limits.js';

/**
 * Checks of request bodies and query parameters; each failure is a 400 that names the field
 * and says what was expected and what came. Every value a route hands to the store passes
 * one of these first: the store never sees a string with a NUL (PostgreSQL's text cannot
 * hold one), a number out of its column's range, or a value `decode` would refuse.
 */

type Obj = Record<string, unknown>;

function bad(field: string, expected: string, value: unknown): never {
  throw new HttpError(400, 'BAD_REQUEST', `${field}: expected ${expected}, got ${describeValue(value)}`);
}

export function object(value: unknown, field = 'body'): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'a JSON object', value);
  return value as Obj;
}

export function string(obj: Obj, key: string, field = `body.${key}`): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '' || v.includes('\0')) bad(field, 'a non-empty string without NUL characters', v);
  return v;
}

export function optionalString(obj: Obj, key: string, field = `body.${key}`): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : string(obj, key, field);
}

export function number(obj: Obj, key: string, field = `body.${key}`): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, 'a number', v);
  return v;
}

export function optionalNumber(obj: Obj, key: string, field = `body.${key}`): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : number(obj, key, field);
}

/** A number from `min` to `max`; with `integer`, a whole one. */
export function numberIn(
  obj: Obj,
  key: string,
  range: { min: number; max: number; integer?: boolean },
  field = `body.${key}`,
): number {
  const v = obj[key];
  if (typeof v !== 'number' || !inRange(v, range)) bad(field, rangeText(range), v);
  return v;
}

export function optionalNumberIn(
  obj: Obj,
  key: string,
  range: { min: number; max: number; integer?: boolean },
  field = `body.${key}`,
): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : numberIn(obj, key, range, field);
}

/** A time in epoch milliseconds (a worker's `at`, a log line's `ts`): a whole number within Date's range. */
export function time(obj: Obj, key: string, field = `body.${key}`): number {
  return numberIn(obj, key, { min: 0, max: MAX_TIME_MS, integer: true }, field);
}

export function array(obj: Obj, key: string, field = `body.${key}`): unknown[] {
  const v = obj[key];
  if (!Array.isArray(v)) bad(field, 'an array', v);
  return v;
}

export function strings(obj: Obj, key: string, field = `body.${key}`): string[] {
  const list = array(obj, key, field);
  list.forEach(
    (v, i) =>
      (typeof v !== 'string' || v.includes('\0')) && bad(`${field}[${i}]`, 'a string without NUL characters', v),
  );
  return list as string[];
}

export function tags(obj: Obj, key: string, field = `body.${key}`): string[] | 'all' {
  return obj[key] === 'all' ? 'all' : strings(obj, key, field);
}

/**
 * A value that will be stored and decoded later (args, a result, a flow status): `decode`
 * must accept it, so a malformed `__millrace` form or a value nested deeper than MAX_DEPTH
 * is refused here, with the path and the tag, rather than breaking every later read.
 */
export function storableValue(value: unknown, field: string): Json {
  try {
    decode(value as Json, field);
  } catch (err) {
    if (err instanceof SerializationError) throw new HttpError(400, 'BAD_VALUE', err.message);
    throw err;
  }
  return value as Json;
}

/** An error record as a worker reports it: string name and message, optional string stack, code and job id. */
export function errorRecord(value: unknown, field: string): ErrorRecord {
  const record = object(value, field);
  string(record, 'name', `${field}.name`);
  if (typeof record.message !== 'string') bad(`${field}.message`, 'a string', record.message);
  for (const key of ['stack', 'code', 'jobId']) {
    if (record[key] !== undefined && typeof record[key] !== 'string') bad(`${field}.${key}`, 'a string', record[key]);
  }
  return storableValue(record, field) as unknown as ErrorRecord;
}

/** A retry policy: whole attempts from 1 to MAX_ATTEMPTS; delays in seconds within the scheduling range. */
export function retryOptions(value: unknown, field: string): RetryOptions {
  const retry = object(value, field);
  const attempts = numberIn(retry, 'attempts', { min: 1, max: MAX_ATTEMPTS, integer: true }, `${field}.attempts`);
  const delay = optionalNumberIn(retry, 'delay', { min: 0, max: MAX_DELAY_SECS }, `${field}.delay`);
  const multiplier = optionalNumberIn(retry, 'multiplier', { min: 0, max: 1000 }, `${field}.multiplier`);
  const maxDelay = optionalNumberIn(retry, 'maxDelay', { min: 0, max: MAX_DELAY_SECS }, `${field}.maxDelay`);
  return {
    attempts,
    ...(delay !== undefined && { delay }),
    ...(multiplier !== undefined && { multiplier }),
    ...(maxDelay !== undefined && { maxDelay }),
  };
}

/** A query parameter as a number, or undefined when absent. `max` bounds it; `integer` asks for a whole one. */
export function queryNumber(
  query: URLSearchParams,
  key: string,
  options: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  const range = {
    min: options.min ?? -Number.MAX_VALUE,
    max: options.max ?? Number.MAX_VALUE,
    integer: options.integer,
  };
  if (!inRange(n, range)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `query ${key}: expected ${rangeText({ ...options, ...range })}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

export function queryBool(query: URLSearchParams, key: string): boolean | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new HttpError(400, 'BAD_REQUEST', `query ${key}: expected true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Refuses a request whose path or query holds a NUL character (`%00`): no job id, script
 * path, tag, filter or key has one, and PostgreSQL's text cannot store or compare one.
 */
export function checkNoNul(params: Record<string, string>, query: URLSearchParams): void {
  for (const [name, value] of Object.entries(params)) {
    if (value.includes('\0')) bad(`path parameter ${name}`, 'no NUL characters', value);
  }
  for (const [name, value] of query) {
    if (name.includes('\0') || value.includes('\0'))
      bad(`query ${JSON.stringify(name.replace(/\0/g, '\\0'))}`, 'no NUL characters', value);
  }
}

function inRange(n: number, range: { min: number; max: number; integer?: boolean }): boolean {
  if (!Number.isFinite(n) || n < range.min || n > range.max) return false;
  return !range.integer || Number.isSafeInteger(n);
}

function rangeText(range: { min?: number; max?: number; integer?: boolean }): string {
  const kind = range.integer ? 'an integer' : 'a number';
  const min = range.min !== undefined && range.min > -Number.MAX_VALUE ? range.min : undefined;
  const max = range.max !== undefined && range.max < Number.MAX_VALUE ? range.max : undefined;
  if (min !== undefined && max !== undefined) return `${kind} from ${min} to ${max}`;
  if (min !== undefined) return `${kind} ≥ ${min}`;
  if (max !== undefined) return `${kind} ≤ ${max}`;
  return kind;
}
