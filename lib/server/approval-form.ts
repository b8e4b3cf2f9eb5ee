import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ApprovalFormError } from '../errors-operations.js';
import type { Json } from '../types.js';

/**
 * An approval's form (a JSON schema, given to waitForApproval) checked against the value an
 * approver sends, with ajv. Compiled schemas are kept by their text: a job's form is checked
 * once per use of its URL, and the same forms come back.
 */

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();

/** Throws ApprovalFormError naming each field that does not fit (`value.amount: must be number`). */
export function checkApprovalValue(form: Json, value: Json): void {
  const key = JSON.stringify(form);
  let validate = compiled.get(key);
  if (!validate) {
    try {
      validate = ajv.compile(form as object);
    } catch (err) {
      throw new ApprovalFormError([`the form is not a valid JSON schema (${(err as Error).message})`]);
    }
    if (compiled.size > 500) compiled.clear();
    compiled.set(key, validate);
  }
  if (!validate(value)) throw new ApprovalFormError((validate.errors ?? []).map(describe));
}

function describe(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const missing =
    error.keyword === 'required' ? (error.params as { missingProperty?: string }).missingProperty : undefined;
  const field = ['value', ...path, ...(missing !== undefined ? [missing] : [])].join('.');
  return missing !== undefined ? `${field}: is required` : `${field}: ${error.message ?? 'is not valid'}`;
}
