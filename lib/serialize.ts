import { SerializationError } from './errors.js';
import { describeValue } from './describe.js';
import type { Json } from './types.js';

/**
 * The value contract of invariant 4. `encode` turns a value into JSON that crosses threads,
 * HTTP and the store; `decode` gives back the same types. Plain JSON stays plain JSON, so
 * outside clients read args and results as they are; only values JSON cannot hold are
 * tagged, as `{ "__millrace": <type>, "value": … }`.
 *
 * Anything else (a function, a symbol, a class instance, a cycle) is a SerializationError
 * naming the path, raised before anything leaves the process.
 */
const TAG = '__millrace';

type Tagged =
  | { [TAG]: 'undefined' }
  | { [TAG]: 'number'; value: 'NaN' | 'Infinity' | '-Infinity' }
  | { [TAG]: 'bigint'; value: string }
  | { [TAG]: 'Date'; value: string | null }
  | { [TAG]: 'Map'; value: [Json, Json][] }
  | { [TAG]: 'Set'; value: Json[] }
  | { [TAG]: 'Uint8Array'; value: string }
  | { [TAG]: 'Error'; value: { name: string; message: string; stack?: string } }
  /** A plain object that happens to have a `__millrace` key of its own. */
  | { [TAG]: 'object'; value: { [key: string]: Json } };

/** Encodes `value`; `path` names it in errors (e.g. `args[0]`, `result`). */
export function encode(value: unknown, path: string): Json {
  return encodeAt(value, path, []);
}

/** Encodes a call's positional arguments, naming each `args[i]`. */
export function encodeArgs(args: readonly unknown[]): Json[] {
  return args.map((arg, i) => encodeAt(arg, `args[${i}]`, []));
}

function encodeAt(value: unknown, path: string, ancestors: object[]): Json {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      return tagged({ [TAG]: 'number', value: String(value) as 'NaN' | 'Infinity' | '-Infinity' });
    case 'undefined':
      return tagged({ [TAG]: 'undefined' });
    case 'bigint':
      return tagged({ [TAG]: 'bigint', value: value.toString() });
    case 'function':
      return fail(path, `is a function${value.name ? ` (${value.name})` : ''}`);
    case 'symbol':
      return fail(path, `is a symbol (${value.toString()})`);
  }
  if (value === null) return null;
  const obj = value as object;
  if (ancestors.length >= MAX_DEPTH) return fail(shortPath(path), `is nested deeper than ${MAX_DEPTH} levels`);
  if (ancestors.includes(obj)) {
    return fail(path, 'is a cycle: it contains itself');
  }
  ancestors.push(obj);
  try {
    return encodeObject(obj, path, ancestors);
  } finally {
    ancestors.pop();
  }
}

function encodeObject(obj: object, path: string, ancestors: object[]): Json {
  if (Array.isArray(obj)) {
    const out: Json[] = [];
    for (let i = 0; i < obj.length; i++) out.push(encodeAt(obj[i], `${path}[${i}]`, ancestors));
    return out;
  }
  if (obj instanceof Date) {
    const time = obj.getTime();
    return tagged({ [TAG]: 'Date', value: Number.isNaN(time) ? null : obj.toISOString() });
  }
  if (obj instanceof Map) {
    const entries: [Json, Json][] = [];
    let i = 0;
    for (const [k, v] of obj) {
      entries.push([
        encodeAt(k, `${path}.<Map key ${i}>`, ancestors),
        encodeAt(v, `${path}.get(${describeKey(k)})`, ancestors),
      ]);
      i++;
    }
    return tagged({ [TAG]: 'Map', value: entries });
  }
  if (obj instanceof Set) {
    const items: Json[] = [];
    let i = 0;
    for (const item of obj) items.push(encodeAt(item, `${path}.<Set item ${i++}>`, ancestors));
    return tagged({ [TAG]: 'Set', value: items });
  }
  if (obj instanceof Uint8Array) {
    return tagged({
      [TAG]: 'Uint8Array',
      value: Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64'),
    });
  }
  if (obj instanceof Error) {
    const record: { name: string; message: string; stack?: string } = { name: obj.name, message: obj.message };
    if (obj.stack !== undefined) record.stack = obj.stack;
    return tagged({ [TAG]: 'Error', value: record });
  }
  const proto: unknown = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    return fail(path, describeInstance(obj));
  }
  if (Object.getOwnPropertySymbols(obj).length > 0) {
    return fail(path, `has a symbol key (${Object.getOwnPropertySymbols(obj)[0].toString()})`);
  }
  const out: { [key: string]: Json } = {};
  for (const [key, v] of Object.entries(obj)) out[key] = encodeAt(v, `${path}${propertyPath(key)}`, ancestors);
  return TAG in out ? tagged({ [TAG]: 'object', value: out }) : out;
}

function tagged(t: Tagged): Json {
  return t as unknown as Json;
}

/** A path 256 levels deep, readable in a message: its start and its end. */
function shortPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 60)}…${path.slice(-40)}`;
}

function fail(path: string, problem: string): never {
  throw new SerializationError(path, problem);
}

function describeInstance(obj: object): string {
  if (typeof (obj as { then?: unknown }).then === 'function') return 'is a Promise: await it before passing it on';
  if (ArrayBuffer.isView(obj)) return `is a ${obj.constructor.name}: only Uint8Array is supported among binary types`;
  const name = (obj.constructor as { name?: string } | undefined)?.name;
  return `is a class instance${name ? ` (${name})` : ''}: pass a plain object instead`;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
function propertyPath(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function describeKey(key: unknown): string {
  if (typeof key === 'string') return JSON.stringify(key);
  if (typeof key === 'number' || typeof key === 'boolean' || key === null || key === undefined) return String(key);
  return typeof key;
}

/**
 * The deepest a value may nest (arrays, objects, and the contents of a Map, Set or tagged
 * object each count one level). Deeper values are refused by `encode` and `decode` alike, so
 * neither recurses far enough to exhaust the stack, whatever a client sends.
 */
export const MAX_DEPTH = 256;

/**
 * The inverse of `encode`. Values that were never encoded (plain JSON from an outside client)
 * pass through. A malformed tagged form (`{"__millrace":"bigint","value":"zz"}`) or a value
 * nested deeper than MAX_DEPTH is a SerializationError naming the path, never a RangeError.
 *
 * `path` names the value in errors. @default 'value'
 */
export function decode(json: Json, path = 'value'): unknown {
  return decodeAt(json, path, 0);
}

function decodeAt(json: Json, path: string, depth: number): unknown {
  if (json === null || typeof json !== 'object') return json;
  if (depth >= MAX_DEPTH) fail(shortPath(path), `is nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(json)) return json.map((v, i) => decodeAt(v, `${path}[${i}]`, depth + 1));
  const tag = json[TAG];
  if (typeof tag === 'string' && KNOWN_TAGS.has(tag)) return decodeTagged(json, tag, path, depth);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) out[key] = decodeAt(v, `${path}${propertyPath(key)}`, depth + 1);
  return out;
}

const KNOWN_TAGS = new Set(['undefined', 'number', 'bigint', 'Date', 'Map', 'Set', 'Uint8Array', 'Error', 'object']);
const DECIMAL_INTEGER = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes one tagged form, checking its `value` has the shape `encode` gives that tag. */
function decodeTagged(t: { [key: string]: Json }, tag: string, path: string, depth: number): unknown {
  const value = t.value;
  const malformed = (expected: string): never =>
    fail(
      path,
      `is a malformed {"${TAG}":"${tag}"} value: expected "value" to be ${expected}, got ${describeValue(value, { maxChars: 40 })}`,
    );
  const inner = `${path}.value`;
  switch (tag) {
    case 'undefined':
      return undefined;
    case 'number':
      if (value !== 'NaN' && value !== 'Infinity' && value !== '-Infinity')
        malformed('"NaN", "Infinity" or "-Infinity"');
      return Number(value);
    case 'bigint':
      if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value)) malformed('a string of decimal digits');
      return BigInt(value as string);
    case 'Date': {
      if (value === null) return new Date(Number.NaN);
      const date = typeof value === 'string' ? new Date(value) : undefined;
      if (!date || Number.isNaN(date.getTime())) malformed('an ISO date string or null');
      return date;
    }
    case 'Map':
      if (!Array.isArray(value) || !value.every((e) => Array.isArray(e) && e.length === 2))
        malformed('an array of [key, value] pairs');
      return new Map(
        (value as [Json, Json][]).map(([k, v], i) => [
          decodeAt(k, `${inner}[${i}][0]`, depth + 1),
          decodeAt(v, `${inner}[${i}][1]`, depth + 1),
        ]),
      );
    case 'Set':
      if (!Array.isArray(value)) malformed('an array');
      return new Set((value as Json[]).map((v, i) => decodeAt(v, `${inner}[${i}]`, depth + 1)));
    case 'Uint8Array':
      if (typeof value !== 'string' || !BASE64.test(value)) malformed('a base64 string');
      return new Uint8Array(Buffer.from(value as string, 'base64'));
    case 'Error': {
      const record = value as { name?: Json; message?: Json; stack?: Json } | null;
      if (
        record === null ||
        typeof record !== 'object' ||
        Array.isArray(record) ||
        typeof record.name !== 'string' ||
        typeof record.message !== 'string' ||
        (record.stack !== undefined && typeof record.stack !== 'string')
      ) {
        malformed('an object with string "name" and "message" (and optionally "stack")');
      }
      const err = new Error(record!.message as string);
      err.name = record!.name as string;
      if (record!.stack !== undefined) err.stack = record!.stack as string;
      return err;
    }
    default: {
      // 'object': a plain object that has a `__millrace` key of its own.
      if (value === null || typeof value !== 'object' || Array.isArray(value)) malformed('an object');
      const out: Record<string, unknown> = {};
      for (const [key, v] of Object.entries(value as { [key: string]: Json }))
        out[key] = decodeAt(v, `${inner}${propertyPath(key)}`, depth + 1);
      return out;
    }
  }
}

/** A serialisation round trip: what a value looks like after crossing a job boundary. */
export function roundTrip<T>(value: T, path: string): T {
  return decode(encode(value, path)) as T;
}
