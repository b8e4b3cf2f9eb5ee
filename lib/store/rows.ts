import {
  DEFAULT_TAG,
  DEFAULT_WORKSPACE,
  type AttemptRecord,
  type TokenRecord,
  type WorkerRecord,
  type ErrorRecord,
  type JobKind,
  type JobRecord,
  type JobSpec,
  type JobStatus,
  type Json,
  type LogLine,
  type LogStream,
  type Outcome,
  type RetryOptions,
} from '../types.js';

import { flowControlOf } from './flow-control.js';

/** A jobs row as SQL stores it: snake_case, JSON as text, times as epoch ms. Shared by the stores. */
export interface JobRow {
  id: string;
  workspace: string;
  kind: string;
  script_path: string;
  script_hash: string;
  entrypoint: string;
  args: string;
  tag: string;
  status: string;
  parent_job: string | null;
  root_job: string;
  path: string;
  call_key: string | null;
  attempt: number | string;
  max_attempts: number | string;
  timeout_s: number | null;
  retry: string | null;
  created_at: number | string;
  scheduled_for: number | string;
  started_at: number | string | null;
  completed_at: number | string | null;
  duration_ms: number | string | null;
  worker: string | null;
  result: string | null;
  error: string | null;
  canceled_by: string | null;
  idempotency_key: string | null;
  /** Flow control (store/flow-control.ts); absent in rows read before its migration. */
  priority?: number | string;
  concurrency_key?: string | null;
  concurrency_limit?: number | string | null;
  concurrency_window_ms?: number | string | null;
  rate_key?: string | null;
  rate_limit?: number | string | null;
  rate_per_ms?: number | string | null;
  cache_ttl_ms?: number | string | null;
  cached_from?: string | null;
}

export interface LogRow {
  seq: number | string;
  job_id: string;
  ts: number | string;
  stream: string;
  line: string;
  src_job: string | null;
  src_name: string | null;
}

export interface AttemptRow {
  job_id: string;
  attempt: number | string;
  worker: string;
  claimed_at: number | string;
  started_at: number | string | null;
  completed_at: number | string | null;
  status: string;
  error: string | null;
}

const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: number | string | null): number | null => (v === null ? null : num(v));

export function toJobRecord(row: JobRow): JobRecord {
  return {
    id: row.id,
    workspace: row.workspace,
    kind: row.kind as JobKind,
    scriptPath: row.script_path,
    scriptHash: row.script_hash,
    entrypoint: row.entrypoint,
    args: JSON.parse(row.args) as Json,
    tag: row.tag,
    status: row.status as JobStatus,
    parentJob: row.parent_job,
    rootJob: row.root_job,
    callKey: row.call_key,
    attempt: num(row.attempt),
    maxAttempts: num(row.max_attempts),
    timeout: row.timeout_s,
    retry: row.retry === null ? null : (JSON.parse(row.retry) as RetryOptions),
    createdAt: num(row.created_at),
    scheduledFor: num(row.scheduled_for),
    startedAt: numOrNull(row.started_at),
    completedAt: numOrNull(row.completed_at),
    durationMs: numOrNull(row.duration_ms),
    worker: row.worker,
    result: row.result === null ? null : (JSON.parse(row.result) as Json),
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorRecord),
    path: row.path,
    canceledBy: row.canceled_by ?? null,
    idempotencyKey: row.idempotency_key ?? null,
    priority: row.priority === undefined ? 0 : num(row.priority),
    flowControl: flowControlOf(row),
    cachedFrom: row.cached_from ?? null,
  };
}

export function toLogLine(row: LogRow): LogLine {
  return {
    seq: num(row.seq),
    jobId: row.job_id,
    ts: num(row.ts),
    stream: row.stream as LogStream,
    line: row.line,
    source: row.src_job === null ? null : { jobId: row.src_job, name: row.src_name ?? '' },
  };
}

export function toAttemptRecord(row: AttemptRow): AttemptRecord {
  return {
    jobId: row.job_id,
    attempt: num(row.attempt),
    worker: row.worker,
    claimedAt: num(row.claimed_at),
    startedAt: numOrNull(row.started_at),
    completedAt: numOrNull(row.completed_at),
    status: row.status as JobStatus,
    error: row.error === null ? null : (JSON.parse(row.error) as ErrorRecord),
  };
}

/** The columns every new job row starts with, from its spec: the same in both stores. */
export type NewJobColumns = Pick<
  JobRow,
  'id' | 'workspace' | 'kind' | 'script_path' | 'script_hash' | 'entrypoint' | 'args' | 'tag'
>;

export function newJobColumns(spec: JobSpec, id: string): NewJobColumns {
  return {
    id,
    workspace: spec.workspace ?? DEFAULT_WORKSPACE,
    kind: spec.kind,
    script_path: spec.scriptPath,
    script_hash: spec.scriptHash,
    entrypoint: spec.entrypoint,
    args: JSON.stringify(spec.args),
    tag: spec.tag ?? DEFAULT_TAG,
  };
}

/** An outcome as the `result` and `error` columns: JSON text, the other one null. */
export function outcomeColumns(outcome: Outcome): { result: string | null; error: string | null } {
  return outcome.status === 'success'
    ? { result: JSON.stringify(outcome.result), error: null }
    : { result: null, error: JSON.stringify(outcome.error) };
}

/** A tokens row: times are numbers in SQLite and BIGINT strings in PostgreSQL, `from_env` 0/1 or a boolean. */
export interface TokenRow {
  token_hash: string;
  prefix: string | null;
  workspace: string;
  scope: TokenRecord['scope'];
  label: string;
  created_at: number | string;
  from_env: number | boolean;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

export function toTokenRecord(row: TokenRow): TokenRecord {
  return {
    tokenHash: row.token_hash,
    prefix: row.prefix,
    workspace: row.workspace,
    scope: row.scope,
    label: row.label,
    createdAt: Number(row.created_at),
    fromEnv: row.from_env === true || row.from_env === 1,
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}

/** A workers row with the ids of the jobs it runs: a JSON array as text (SQLite) or parsed (PostgreSQL). */
export interface WorkerRow {
  id: string;
  workspace: string;
  tags: string;
  hostname: string;
  started_at: number | string;
  last_seen: number | string;
  jobs: string | string[] | null;
}

export function toWorkerRecord(row: WorkerRow): WorkerRecord {
  return {
    id: row.id,
    workspace: row.workspace,
    tags: JSON.parse(row.tags) as string[] | 'all',
    hostname: row.hostname,
    startedAt: Number(row.started_at),
    lastSeen: Number(row.last_seen),
    jobs: typeof row.jobs === 'string' ? (JSON.parse(row.jobs) as string[]) : (row.jobs ?? []),
  };
}
