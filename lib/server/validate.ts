import { HttpError } from './http-error.js';

/** Checks of request bodies and query parameters; each failure is a 400 that names the field. */

type Obj = Record<string, unknown>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function bad(field: string, expected: string, value: unknown): never {
  throw new HttpError(400, 'BAD_REQUEST', `${field}: expected ${expected}, got ${describe(value)}`);
}

export function object(value: unknown, field = 'body'): Obj {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(field, 'a JSON object', value);
  return value as Obj;
}

export function string(obj: Obj, key: string, field = `body.${key}`): string {
  const v = obj[key];
  if (typeof v !== 'string' || v === '') bad(field, 'a non-empty string', v);
  return v;
}

export function optionalString(obj: Obj, key: string): string | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : string(obj, key);
}

export function number(obj: Obj, key: string, field = `body.${key}`): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(field, 'a number', v);
  return v;
}

export function optionalNumber(obj: Obj, key: string): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : number(obj, key);
}

export function array(obj: Obj, key: string, field = `body.${key}`): unknown[] {
  const v = obj[key];
  if (!Array.isArray(v)) bad(field, 'an array', v);
  return v;
}

export function strings(obj: Obj, key: string): string[] {
  const list = array(obj, key);
  list.forEach((v, i) => typeof v !== 'string' && bad(`body.${key}[${i}]`, 'a string', v));
  return list as string[];
}

export function tags(obj: Obj, key: string): string[] | 'all' {
  return obj[key] === 'all' ? 'all' : strings(obj, key);
}

/** A query parameter as a number, or undefined when absent. */
export function queryNumber(query: URLSearchParams, key: string, options: { min?: number; integer?: boolean } = {}): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (options.integer && !Number.isInteger(n)) || (options.min !== undefined && n < options.min)) {
    throw new HttpError(400, 'BAD_REQUEST', `query ${key}: expected ${options.integer ? 'an integer' : 'a number'}${options.min !== undefined ? ` ≥ ${options.min}` : ''}, got ${JSON.stringify(raw)}`);
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
