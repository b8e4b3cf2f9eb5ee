import type { FlowControlFields } from '../http/flow-control-wire.js';
import { HttpError } from './http-error.js';
import { numberIn, object, optionalNumberIn, optionalString, string } from './validate.js';

type Obj = Record<string, unknown>;

/** The most a limit, a priority or a period may be: within a 32-bit column, and a day for periods. */
const MAX_LIMIT = 1_000_000;
const MAX_PERIOD_SECS = 86_400 * 366;

/**
 * The flow-control fields of a call or a run request (`concurrency_limit`, `concurrency_key`,
 * `concurrency_time_window_s`, `priority`, `cache_ttl`, `rate_limit`), each checked; a bad
 * one is a 400 naming the field.
 */
export function parseFlowFields(obj: Obj, field: string): FlowControlFields {
  const limit = optionalNumberIn(
    obj,
    'concurrency_limit',
    { min: 1, max: MAX_LIMIT, integer: true },
    `${field}.concurrency_limit`,
  );
  const key = optionalString(obj, 'concurrency_key', `${field}.concurrency_key`);
  const windowS = optionalNumberIn(
    obj,
    'concurrency_time_window_s',
    { min: 0.001, max: MAX_PERIOD_SECS },
    `${field}.concurrency_time_window_s`,
  );
  if (limit === undefined && (key !== undefined || windowS !== undefined)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${field}.concurrency_limit: expected a positive integer with concurrency_key or concurrency_time_window_s, got none`,
    );
  }
  const priority = optionalNumberIn(
    obj,
    'priority',
    { min: -MAX_LIMIT, max: MAX_LIMIT, integer: true },
    `${field}.priority`,
  );
  const cacheTtl = optionalNumberIn(obj, 'cache_ttl', { min: 0, max: MAX_PERIOD_SECS }, `${field}.cache_ttl`);
  let rate: FlowControlFields['rate_limit'];
  if (obj.rate_limit !== undefined && obj.rate_limit !== null) {
    const r = object(obj.rate_limit, `${field}.rate_limit`);
    rate = {
      limit: numberIn(r, 'limit', { min: 1, max: MAX_LIMIT, integer: true }, `${field}.rate_limit.limit`),
      per: numberIn(r, 'per', { min: 0.001, max: MAX_PERIOD_SECS }, `${field}.rate_limit.per`),
      key: r.key === undefined ? '' : string(r, 'key', `${field}.rate_limit.key`),
    };
  }
  return {
    ...(limit !== undefined && { concurrency_limit: limit }),
    ...(key !== undefined && { concurrency_key: key }),
    ...(windowS !== undefined && { concurrency_time_window_s: windowS }),
    ...(priority !== undefined && { priority }),
    ...(cacheTtl !== undefined && { cache_ttl: cacheTtl }),
    ...(rate && { rate_limit: rate }),
  };
}
