import type { FlowControl } from '../types.js';

/**
 * Flow control on the wire, in Windmill's names where Windmill has them (`concurrency_limit`,
 * `concurrency_key`, `concurrency_time_window_s`, `priority`, `cache_ttl`), and `rate_limit`
 * for what Windmill lacks. A task call carries these fields; so do flow modules.
 */
export interface FlowControlFields {
  concurrency_limit?: number;
  concurrency_key?: string;
  /** Seconds: at most `concurrency_limit` starts per window. */
  concurrency_time_window_s?: number;
  /** Higher runs first within a tag. */
  priority?: number;
  /** Seconds. */
  cache_ttl?: number;
  rate_limit?: { limit: number; per: number; key: string };
}

/** A FlowControl as wire fields (seconds, Windmill's names). */
export function toFlowFields(flow: FlowControl | undefined): FlowControlFields {
  if (!flow) return {};
  return {
    ...(flow.concurrency && {
      concurrency_limit: flow.concurrency.limit,
      concurrency_key: flow.concurrency.key,
      ...(flow.concurrency.windowMs !== undefined && { concurrency_time_window_s: flow.concurrency.windowMs / 1000 }),
    }),
    ...(flow.priority !== undefined && { priority: flow.priority }),
    ...(flow.cacheTtlMs !== undefined && { cache_ttl: flow.cacheTtlMs / 1000 }),
    ...(flow.rateLimit && {
      rate_limit: { limit: flow.rateLimit.limit, per: flow.rateLimit.perMs / 1000, key: flow.rateLimit.key },
    }),
  };
}

/**
 * Wire fields (already checked) as a FlowControl; undefined when there are none. A concurrency
 * or rate key left out is `defaultKey` (the task's or script's name).
 */
export function fromFlowFields(fields: FlowControlFields, defaultKey: string): FlowControl | undefined {
  const flow: FlowControl = {
    ...(fields.priority !== undefined && fields.priority !== 0 && { priority: fields.priority }),
    ...(fields.concurrency_limit !== undefined && {
      concurrency: {
        key: fields.concurrency_key ?? defaultKey,
        limit: fields.concurrency_limit,
        ...(fields.concurrency_time_window_s !== undefined && {
          windowMs: Math.round(fields.concurrency_time_window_s * 1000),
        }),
      },
    }),
    ...(fields.rate_limit && {
      rateLimit: {
        key: fields.rate_limit.key || defaultKey,
        limit: fields.rate_limit.limit,
        perMs: Math.round(fields.rate_limit.per * 1000),
      },
    }),
    ...(fields.cache_ttl !== undefined && { cacheTtlMs: Math.round(fields.cache_ttl * 1000) }),
  };
  return Object.keys(flow).length > 0 ? flow : undefined;
}
