import { describeValue } from '../describe.js';
import type { RetryOptions } from '../types.js';
import { isObj, type Obj, type Problem } from './raw-flow.js';
import type { FlowRetry } from './types.js';

/** Module options of Windmill's that millrace does not run; a flow that sets one is refused. */
const UNSUPPORTED_OPTIONS = [
  'sleep',
  'suspend',
  'mock',
  'stop_after_all_iters_if',
  'continue_on_error',
  'delete_after_use',
  'delete_after_secs',
];

/** Refuses each option of UNSUPPORTED_OPTIONS a module sets (false counts as unset). */
export function checkUnsupportedOptions(raw: Obj, where: string, problem: Problem): void {
  for (const key of UNSUPPORTED_OPTIONS) {
    if (raw[key] !== undefined && raw[key] !== null && raw[key] !== false)
      problem(`${where}.${key}`, `the module option ${key} is not supported`);
  }
}

/** A module's retry in Windmill's forms, checked: `{ constant }` or `{ exponential }`. */
export function checkRetry(raw: unknown, at: string, problem: Problem): FlowRetry | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isObj(raw)) {
    problem(
      at,
      `expected { constant: { attempts, seconds } } or { exponential: { attempts, multiplier, seconds } }, got ${describeValue(raw)}`,
    );
    return undefined;
  }
  const retry: FlowRetry = {};
  const count = (o: Obj, key: string, kat: string, min: number): number => {
    const n = o[key] ?? (key === 'multiplier' ? 1 : 0);
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min) {
      problem(`${kat}.${key}`, `expected a number ≥ ${min}, got ${describeValue(o[key])}`);
      return min;
    }
    return n;
  };
  if (isObj(raw.constant)) {
    retry.constant = {
      attempts: Math.floor(count(raw.constant, 'attempts', `${at}.constant`, 0)),
      seconds: count(raw.constant, 'seconds', `${at}.constant`, 0),
    };
  }
  if (isObj(raw.exponential)) {
    const e = raw.exponential;
    retry.exponential = {
      attempts: Math.floor(count(e, 'attempts', `${at}.exponential`, 0)),
      multiplier: count(e, 'multiplier', `${at}.exponential`, 0),
      seconds: count(e, 'seconds', `${at}.exponential`, 0),
    };
  }
  for (const key of Object.keys(raw))
    if (key !== 'constant' && key !== 'exponential')
      problem(`${at}.${key}`, 'unknown retry kind; supported: constant, exponential');
  if (retry.constant && retry.exponential) problem(at, 'give constant or exponential, not both');
  return retry;
}

/** Windmill's retry forms as the engine's: constant = same delay each time; exponential = multiplier × seconds^n. */
export function retryOptions(retry: FlowRetry): RetryOptions | undefined {
  if (retry.constant && retry.constant.attempts > 0) {
    return { attempts: retry.constant.attempts + 1, delay: retry.constant.seconds, multiplier: 1 };
  }
  if (retry.exponential && retry.exponential.attempts > 0) {
    const e = retry.exponential;
    return { attempts: e.attempts + 1, delay: e.multiplier * e.seconds, multiplier: e.seconds };
  }
  return undefined;
}

/** A module's timeout in seconds, bare or as `{ type: static, value }`. */
export function checkTimeout(raw: unknown, at: string, problem: Problem): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  const n = isObj(raw) && raw.type === 'static' ? raw.value : raw;
  if (typeof n === 'number' && n > 0 && Number.isFinite(n)) return n;
  problem(at, `expected a number of seconds > 0 (or { type: static, value }), got ${describeValue(raw)}`);
  return undefined;
}

/** A script module's tag, when it names one. */
export function checkTag(raw: unknown, at: string, problem: Problem): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string' && raw.trim() !== '') return raw;
  problem(at, `expected a non-empty tag, got ${describeValue(raw)}`);
  return undefined;
}
