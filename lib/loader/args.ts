import { describeValue } from '../describe.js';
import type { Json } from '../types.js';
import type { EntryOptions, JsonSchema, Signature } from './signature.js';

/**
 * Args for `main`: checked against its inferred schema before a job exists, and turned into
 * the positional arguments the executor calls `main` with.
 */

/**
 * Problems with `args` for this signature (of main, or of `entrypoint`), each naming the arg,
 * what was expected and what came.
 */
export function checkArgs(sig: Signature, args: Record<string, Json>, options: EntryOptions = {}): string[] {
  const fn = options.entrypoint ?? 'main';
  const problems: string[] = [];
  const known = new Set(sig.params.map((p) => p.name));
  for (const key of Object.keys(args)) {
    if (!known.has(key)) {
      problems.push(
        `unknown arg "${key}" (${fn} takes ${sig.params.length ? sig.params.map((p) => p.name).join(', ') : 'no args'})`,
      );
    }
  }
  for (const p of sig.params) {
    if (!(p.name in args) || args[p.name] === undefined) {
      if (p.required) problems.push(`${p.name} is required (${describeSchema(p.schema)})`);
      continue;
    }
    problems.push(...checkValue(p.schema, args[p.name], p.name));
  }
  return problems;
}

/** Problems with one value against a schema; empty when it fits. */
export function checkValue(schema: JsonSchema, value: Json, path: string): string[] {
  // A Date or a bigint given as such (by code, not JSON) arrives in its encoded form.
  if (schema.format === 'date-time' && isTagged(value, 'Date')) return [];
  if (schema.format === 'bigint' && isTagged(value, 'bigint')) return [];
  if (schema.anyOf) {
    return schema.anyOf.some((s) => checkValue(s, value, path).length === 0)
      ? []
      : [`${path}: expected ${describeSchema(schema)}, got ${describeValue(value)}`];
  }
  if (schema.enum && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    return [
      `${path}: expected one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${describeValue(value)}`,
    ];
  }
  const mismatch = (): string[] => [`${path}: expected ${describeSchema(schema)}, got ${describeValue(value)}`];
  switch (schema.type) {
    case undefined:
      return [];
    case 'number':
      return typeof value === 'number' ? [] : mismatch();
    case 'integer':
      if (schema.format === 'bigint' && typeof value === 'string' && /^-?\d+$/.test(value)) return [];
      return typeof value === 'number' && Number.isInteger(value) ? [] : mismatch();
    case 'string':
      if (typeof value !== 'string') return mismatch();
      return schema.format === 'date-time' && Number.isNaN(Date.parse(value)) ? mismatch() : [];
    case 'boolean':
      return typeof value === 'boolean' ? [] : mismatch();
    case 'null':
      return value === null ? [] : mismatch();
    case 'array':
      if (!Array.isArray(value)) return mismatch();
      return schema.items ? value.flatMap((v, i) => checkValue(schema.items!, v, `${path}[${i}]`)) : [];
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return mismatch();
      const problems: string[] = [];
      for (const key of schema.required ?? []) {
        if (!(key in value)) problems.push(`${path}.${key} is required`);
      }
      for (const [key, v] of Object.entries(value)) {
        const sub =
          schema.properties?.[key] ??
          (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
        if (sub) problems.push(...checkValue(sub, v, `${path}.${key}`));
      }
      return problems;
    }
  }
}

function isTagged(value: Json, tag: string): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && value.__millrace === tag;
}

/**
 * The value main's parameter gets, from what was checked: an ISO string for a Date
 * parameter becomes a Date, a whole number or digit string for a bigint one a bigint.
 * Returns undefined when the value stays as it is.
 */
export function typedValue(schema: JsonSchema, value: Json): Date | bigint | undefined {
  if (schema.format === 'date-time' && typeof value === 'string') return new Date(value);
  if (schema.format === 'bigint' && (typeof value === 'number' || typeof value === 'string')) return BigInt(value);
  return undefined;
}

export function describeSchema(schema: JsonSchema): string {
  if (schema.enum) return `one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  if (schema.anyOf) return schema.anyOf.map(describeSchema).join(' or ');
  switch (schema.type) {
    case undefined:
      return 'any value';
    case 'integer':
      return 'an integer';
    case 'array':
      return schema.items && schema.items.type
        ? `an array of ${describeSchema(schema.items).replace(/^an? /, '')}s`
        : 'an array';
    case 'object':
      return 'an object';
    case 'null':
      return 'null';
    default:
      return schema.format === 'date-time' ? 'a date-time string' : `a ${schema.type}`;
  }
}

/** `main`'s positional arguments, in parameter order, from an args object. A missing one is
 *  undefined, so main's own default applies. */
export function positionalArgs(sig: Signature, args: Record<string, Json>): (Json | undefined)[] {
  return sig.params.map((p) => args[p.name]);
}

/**
 * Parses the words after the script path on the command line (`--n 3 --name=x --dry-run`)
 * into an args object, coercing each value to its parameter's type. `--args '{…}'` gives
 * them as one JSON object. Bare words fill the parameters in order.
 */
export function parseCliArgs(
  sig: Signature,
  argv: readonly string[],
): { args: Record<string, Json>; problems: string[] } {
  const args: Record<string, Json> = {};
  const problems: string[] = [];
  const params = new Map(sig.params.map((p) => [p.name, p]));
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--') || word === '--') {
      if (word !== '--') positional.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    let key = eq >= 0 ? word.slice(2, eq) : word.slice(2);
    let raw: string | undefined = eq >= 0 ? word.slice(eq + 1) : undefined;
    if (key === 'args' && !params.has('args')) {
      raw ??= argv[++i];
      try {
        const parsed = JSON.parse(raw ?? '') as Json;
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        Object.assign(args, parsed);
      } catch {
        problems.push(`--args: expected a JSON object such as '{"n":3}', got ${JSON.stringify(raw ?? '')}`);
      }
      continue;
    }
    let param = params.get(key);
    const negated = key.startsWith('no-') ? camelCase(key.slice(3)) : undefined;
    if (!param && negated && params.get(negated)?.schema.type === 'boolean' && raw === undefined) {
      args[negated] = false;
      continue;
    }
    if (!param) {
      const camel = camelCase(key);
      if (params.has(camel)) {
        key = camel;
        param = params.get(camel);
      }
    }
    if (!param) {
      problems.push(
        `unknown arg --${key} (main takes ${sig.params.length ? sig.params.map((p) => `--${p.name}`).join(', ') : 'no args'})`,
      );
      if (raw === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) i++;
      continue;
    }
    if (raw === undefined) {
      const next = argv[i + 1];
      if (
        param.schema.type === 'boolean' &&
        (next === undefined || next.startsWith('--') || !/^(true|false)$/.test(next))
      ) {
        args[key] = true;
        continue;
      }
      if (next === undefined) {
        problems.push(`--${key} needs a value (${describeSchema(param.schema)})`);
        continue;
      }
      raw = next;
      i++;
    }
    const coerced = coerce(param.schema, raw, key);
    if ('problem' in coerced) problems.push(coerced.problem);
    else args[key] = coerced.value;
  }
  const free = sig.params.filter((p) => !(p.name in args));
  positional.forEach((word, i) => {
    const param = free[i];
    if (!param) {
      problems.push(`unexpected value ${JSON.stringify(word)}: main takes ${sig.params.length} args`);
      return;
    }
    const coerced = coerce(param.schema, word, param.name);
    if ('problem' in coerced) problems.push(coerced.problem);
    else args[param.name] = coerced.value;
  });
  return { args, problems };
}

function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A command-line word as a value of the schema's type. */
function coerce(schema: JsonSchema, raw: string, name: string): { value: Json } | { problem: string } {
  const bad = { problem: `--${name}: expected ${describeSchema(schema)}, got ${JSON.stringify(raw)}` };
  const type = schema.type ?? schema.anyOf?.find((s) => s.type && s.type !== 'null')?.type;
  switch (type) {
    case 'number':
    case 'integer': {
      if (schema.format === 'bigint') return /^-?\d+$/.test(raw.trim()) ? { value: raw.trim() } : bad;
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      if (!Number.isFinite(n) || (type === 'integer' && !Number.isInteger(n))) return bad;
      return { value: n };
    }
    case 'boolean':
      if (/^(true|yes|1)$/i.test(raw)) return { value: true };
      if (/^(false|no|0)$/i.test(raw)) return { value: false };
      return bad;
    case 'string':
      return schema.format === 'date-time' && Number.isNaN(Date.parse(raw)) ? bad : { value: raw };
    case 'array':
    case 'object':
      try {
        return { value: JSON.parse(raw) as Json };
      } catch {
        return { problem: `--${name}: expected ${describeSchema(schema)} as JSON, got ${JSON.stringify(raw)}` };
      }
    default:
      // No declared type: JSON when it parses, the word itself otherwise.
      try {
        return { value: JSON.parse(raw) as Json };
      } catch {
        return { value: raw };
      }
  }
}
