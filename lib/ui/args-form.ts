import type { JsonSchema, MainParam } from '../loader/signature.js';
import { el } from './dom.js';

/**
 * The inputs for a script's `main`, generated from its inferred args schema: numbers,
 * strings and booleans as inputs, enums as a choice, objects, arrays and anything else as
 * JSON. `read()` checks every field against its schema and says what is wrong where, so a
 * bad value is caught before anything is submitted.
 */

interface Field {
  param: MainParam;
  element: HTMLElement;
  /** The value, `undefined` to leave it out, or an error message. */
  read(): { value: unknown } | { error: string };
  message: HTMLElement;
}

export type ReadResult = { ok: true; args: Record<string, unknown> } | { ok: false; errors: string[] };

export class ArgsForm {
  readonly element: HTMLElement;
  private readonly fields: Field[];

  constructor(params: MainParam[]) {
    this.fields = params.map(field);
    this.element = el(
      'div',
      { class: 'args-form' },
      this.fields.length ? this.fields.map((f) => f.element) : el('p', { class: 'muted' }, 'main takes no arguments.'),
    );
  }

  read(): ReadResult {
    const args: Record<string, unknown> = {};
    const errors: string[] = [];
    for (const f of this.fields) {
      const r = f.read();
      f.message.textContent = 'error' in r ? r.error : '';
      f.element.classList.toggle('invalid', 'error' in r);
      if ('error' in r) errors.push(`${f.param.name}: ${r.error}`);
      else if (r.value !== undefined) args[f.param.name] = r.value;
    }
    return errors.length ? { ok: false, errors } : { ok: true, args };
  }
}

/** The kind of input a schema gets. */
function inputKind(s: JsonSchema): 'number' | 'integer' | 'string' | 'boolean' | 'enum' | 'json' {
  if (s.enum && s.enum.every((v) => typeof v === 'string' || typeof v === 'number')) return 'enum';
  if (s.type === 'number' || s.type === 'integer' || s.type === 'string' || s.type === 'boolean') return s.type;
  return 'json';
}

function describeType(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (s.anyOf) return s.anyOf.map(describeType).join(' | ');
  if (s.type === 'array') return `${s.items ? describeType(s.items) : 'any'}[]`;
  if (s.format === 'date-time') return 'Date (ISO string)';
  return s.type ?? 'any (JSON)';
}

function field(param: MainParam): Field {
  const { name, schema, required } = param;
  const id = `arg-${name}`;
  const kind = inputKind(schema);
  const message = el('div', { class: 'field-error', id: `${id}-error`, role: 'alert' });
  const initial = schema.default;
  let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  if (kind === 'boolean' && required) {
    input = el('input', { type: 'checkbox', id, name, checked: initial === true });
  } else if (kind === 'boolean' || kind === 'enum') {
    const options = kind === 'boolean' ? [true, false] : (schema.enum as (string | number)[]);
    input = el(
      'select',
      { id, name },
      !required && el('option', { value: '' }, '(leave out)'),
      options.map((v) => el('option', { value: JSON.stringify(v), selected: initial === v }, String(v))),
    );
  } else if (kind === 'json') {
    input = el('textarea', {
      id,
      name,
      rows: 3,
      spellcheck: 'false',
      placeholder: schema.type === 'array' ? '[ … ]' : schema.type === 'object' ? '{ … }' : 'JSON',
    });
    if (initial !== undefined) input.value = JSON.stringify(initial);
  } else {
    input = el('input', {
      type: 'text',
      id,
      name,
      inputmode: kind === 'string' ? undefined : 'decimal',
      autocomplete: 'off',
    });
    if (initial !== undefined) input.value = typeof initial === 'string' ? initial : JSON.stringify(initial);
  }
  const element = el(
    'div',
    { class: 'field', 'data-param': name },
    el(
      'label',
      { for: id },
      name,
      el('span', { class: 'type' }, describeType(schema)),
      required ? null : el('span', { class: 'muted' }, ' optional'),
    ),
    input,
    message,
  );

  const read = (): { value: unknown } | { error: string } => {
    if (input instanceof HTMLInputElement && input.type === 'checkbox') return { value: input.checked };
    const raw = input.value.trim();
    if (raw === '') {
      if (kind === 'string' && required) return { value: '' };
      return required ? { error: `required: expected ${describeType(schema)}` } : { value: undefined };
    }
    switch (kind) {
      case 'number':
      case 'integer': {
        const n = Number(raw);
        if (!Number.isFinite(n)) return { error: `expected a number, got ${JSON.stringify(raw)}` };
        if (kind === 'integer' && !Number.isInteger(n)) return { error: `expected an integer, got ${raw}` };
        return { value: n };
      }
      case 'string':
        return { value: input.value };
      case 'boolean':
      case 'enum':
        return { value: JSON.parse(raw) as unknown };
      case 'json': {
        let value: unknown;
        try {
          value = JSON.parse(raw);
        } catch (err) {
          return { error: `expected JSON (${describeType(schema)}): ${(err as Error).message}` };
        }
        const wrong = checkJson(value, schema);
        return wrong ? { error: wrong } : { value };
      }
    }
  };
  return { param, element, read, message };
}

/** A shallow check of a JSON value against the schema: the top-level type, as Windmill's form does. */
function checkJson(value: unknown, s: JsonSchema): string | undefined {
  const got =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'an array'
        : typeof value === 'object'
          ? 'an object'
          : `${typeof value} ${JSON.stringify(value)}`;
  if (s.type === 'array' && !Array.isArray(value)) return `expected an array, got ${got}`;
  if (s.type === 'object' && (value === null || typeof value !== 'object' || Array.isArray(value)))
    return `expected an object, got ${got}`;
  if (s.type === 'object' && s.required) {
    const missing = s.required.filter((k) => !(k in (value as object)));
    if (missing.length) return `missing ${missing.map((k) => `"${k}"`).join(', ')}`;
  }
  if (s.type === 'null' && value !== null) return `expected null, got ${got}`;
  return undefined;
}
