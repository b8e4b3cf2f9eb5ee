import { createHash } from 'node:crypto';
import type { FlowControl, JobSpec, Json, QueueSummary } from '../types.js';

/**
 * Flow control as both stores apply it: the columns a job's FlowControl is kept in, the cache
 * key of a call, the order of claims, and which due jobs a claim may take (admission). A store
 * loads the keys' state inside its claim's transaction (SQLite: the one writer; PostgreSQL:
 * under the keys' advisory locks), then applies `admit` and writes what it decided.
 */

/** The flow-control columns of a new job row, in the order both stores insert them. */
export interface FlowColumns {
  priority: number;
  concurrency_key: string | null;
  concurrency_limit: number | null;
  concurrency_window_ms: number | null;
  rate_key: string | null;
  rate_limit: number | null;
  rate_per_ms: number | null;
  cache_key: string | null;
  cache_ttl_ms: number | null;
}

export function flowColumns(spec: JobSpec): FlowColumns {
  const f = spec.flowControl;
  return {
    priority: f?.priority ?? 0,
    concurrency_key: f?.concurrency?.key ?? null,
    concurrency_limit: f?.concurrency?.limit ?? null,
    concurrency_window_ms: f?.concurrency?.windowMs ?? null,
    rate_key: f?.rateLimit?.key ?? null,
    rate_limit: f?.rateLimit?.limit ?? null,
    rate_per_ms: f?.rateLimit?.perMs ?? null,
    cache_key: f?.cacheTtlMs !== undefined ? cacheKey(spec) : null,
    cache_ttl_ms: f?.cacheTtlMs ?? null,
  };
}

/** The columns' values in FlowColumns' order: the order both stores' statements list them in. */
export function flowColumnValues(f: FlowColumns): (string | number | null)[] {
  return [
    f.priority,
    f.concurrency_key,
    f.concurrency_limit,
    f.concurrency_window_ms,
    f.rate_key,
    f.rate_limit,
    f.rate_per_ms,
    f.cache_key,
    f.cache_ttl_ms,
  ];
}

/** The row's columns back as a FlowControl; null when the job has none. */
export function flowControlOf(row: Partial<Record<keyof FlowColumns, unknown>>): FlowControl | null {
  const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
  const priority = n(row.priority) ?? 0;
  const flow: FlowControl = {
    ...(priority !== 0 && { priority }),
    ...(typeof row.concurrency_key === 'string' && {
      concurrency: {
        key: row.concurrency_key,
        limit: n(row.concurrency_limit) ?? 1,
        ...(n(row.concurrency_window_ms) !== null && { windowMs: n(row.concurrency_window_ms)! }),
      },
    }),
    ...(typeof row.rate_key === 'string' && {
      rateLimit: { key: row.rate_key, limit: n(row.rate_limit) ?? 1, perMs: n(row.rate_per_ms) ?? 1000 },
    }),
    ...(n(row.cache_ttl_ms) !== null && { cacheTtlMs: n(row.cache_ttl_ms)! }),
  };
  return Object.keys(flow).length > 0 ? flow : null;
}

/**
 * A call's cache key: its workspace, script, the script's content hash (a changed script never
 * serves old results), entrypoint and serialised args.
 */
export function cacheKey(spec: JobSpec): string {
  const parts = [
    spec.workspace ?? 'default',
    spec.kind,
    spec.scriptPath,
    spec.scriptHash,
    spec.entrypoint,
    JSON.stringify(cachedArgs(spec.args)),
  ];
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

/**
 * The args a result is cached by. A Windmill workflow's inline task (windmill/dispatch.ts) carries
 * the checkpoint it starts from beside the workflow's args; its result depends on its own args
 * only (`task_args`), as Windmill's cache has it.
 */
function cachedArgs(args: Json): Json {
  const wac = args && typeof args === 'object' && !Array.isArray(args) ? args.__wmill_task : undefined;
  if (wac && typeof wac === 'object' && !Array.isArray(wac) && wac.task_args !== undefined) return wac.task_args;
  return args;
}

/** See ClaimRequest.priorityAgingMs: a job waits this long at most behind higher priorities. */
export const DEFAULT_PRIORITY_AGING_MS = 300_000;

/**
 * The due time at or before which a job is aged at `now`: such jobs are claimed first, oldest
 * first, and the rest by priority, then age. Both stores' claims read the aged jobs off their
 * (status, due time) index and the rest off their priority index, each stopped by its LIMIT:
 * a claim with no aged job reads one more index entry than before.
 */
export function agedBefore(now: number, agingMs: number = DEFAULT_PRIORITY_AGING_MS): number {
  // A bound below every due time (but a safe integer for both drivers) turns aging off.
  return Number.isFinite(agingMs) ? now - agingMs : Number.MIN_SAFE_INTEGER;
}

/** A due queued job as a claim sees it, in claim order. */
export interface Candidate {
  id: string;
  workspace: string;
  concurrency_key: string | null;
  concurrency_limit: number | string | null;
  concurrency_window_ms: number | string | null;
  rate_key: string | null;
  rate_limit: number | string | null;
  rate_per_ms: number | string | null;
}

export function isKeyed(c: Candidate): boolean {
  return c.concurrency_key !== null || c.rate_key !== null;
}

/** Identifies a key within its workspace (keys are per workspace). */
export function keyId(workspace: string, key: string): string {
  return `${workspace}\0${key}`;
}

/** What the store knows of the keys of a claim's candidates, read inside the claim. */
export interface KeyStates {
  /** Running jobs per concurrency key. */
  running: Map<string, number>;
  /** Claim times of the starts per windowed concurrency key within the longest window, any order. */
  starts: Map<string, number[]>;
  /** The earliest next start per rate key (absent: now). */
  rateNext: Map<string, number>;
}

export interface Admission {
  /** The jobs to take, in claim order. */
  claim: string[];
  /** Jobs that must wait for a time (a rate limit, a full window): their new due time. */
  defer: { id: string; until: number }[];
  /** The rate keys whose next start moved, and to when. */
  rateNext: Map<string, number>;
}

/**
 * Which candidates a claim takes, at most `limit`, in their order. A concurrency key admits
 * while fewer than its limit run (with a window: while fewer than its limit started in the
 * last window); a rate key admits one start, then none until `per / limit` later: starts are
 * spread out, never bursted. A job held back by a running limit waits in the queue as it is
 * (a finish wakes the claims); one held back by time is deferred to when it may start.
 */
export function admit(candidates: readonly Candidate[], states: KeyStates, now: number, limit: number): Admission {
  const out: Admission = { claim: [], defer: [], rateNext: new Map() };
  for (const c of candidates) {
    if (out.claim.length >= limit) break;
    let until = 0;
    let full = false;
    const ck = c.concurrency_key !== null ? keyId(c.workspace, c.concurrency_key) : undefined;
    const climit = Number(c.concurrency_limit ?? 1);
    const windowMs = c.concurrency_window_ms === null ? null : Number(c.concurrency_window_ms);
    if (ck !== undefined && windowMs === null && (states.running.get(ck) ?? 0) >= climit) full = true;
    if (ck !== undefined && windowMs !== null) {
      const recent = (states.starts.get(ck) ?? []).filter((t) => t > now - windowMs).sort((a, b) => a - b);
      if (recent.length >= climit) until = Math.max(until, recent[recent.length - climit] + windowMs);
    }
    const rk = c.rate_key !== null ? keyId(c.workspace, c.rate_key) : undefined;
    if (rk !== undefined) {
      const next = states.rateNext.get(rk) ?? 0;
      if (next > now) until = Math.max(until, next);
    }
    if (until > now) {
      out.defer.push({ id: c.id, until });
      continue;
    }
    if (full) continue;
    out.claim.push(c.id);
    if (ck !== undefined) {
      states.running.set(ck, (states.running.get(ck) ?? 0) + 1);
      if (windowMs !== null) states.starts.set(ck, [...(states.starts.get(ck) ?? []), now]);
    }
    if (rk !== undefined) {
      const next = now + Math.ceil(Number(c.rate_per_ms ?? 1000) / Number(c.rate_limit ?? 1));
      states.rateNext.set(rk, next);
      out.rateNext.set(rk, next);
    }
  }
  return out;
}

/** A count row of the queue summary's statements (numbers, or BIGINT strings from PostgreSQL). */
export interface CountRow {
  name: string;
  queued: number | string;
  running: number | string;
  lim?: number | string | null;
  window_ms?: number | string | null;
  per_ms?: number | string | null;
  next_start?: number | string | null;
}

/** The keys of a QueueSummary from the two stores' count rows (numbers or BIGINT strings). */
export function queueKeys(concurrency: readonly CountRow[], rate: readonly CountRow[]): QueueSummary['keys'] {
  const n = (v: unknown) => Number(v ?? 0);
  return [
    ...concurrency.map((r) => ({
      kind: 'concurrency' as const,
      key: r.name,
      queued: n(r.queued),
      running: n(r.running),
      limit: n(r.lim),
      ...(r.window_ms != null && { windowMs: n(r.window_ms) }),
    })),
    ...rate.map((r) => ({
      kind: 'rate' as const,
      key: r.name,
      queued: n(r.queued),
      running: n(r.running),
      limit: n(r.lim),
      perMs: n(r.per_ms),
      ...(r.next_start != null && { nextStart: n(r.next_start) }),
    })),
  ];
}
