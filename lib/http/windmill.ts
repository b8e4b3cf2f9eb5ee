import { shortId } from '../ids.js';
import { decode } from '../serialize.js';
import { jobName, type JobRecord, type Json, type LogLine } from '../types.js';

/**
 * Windmill's shapes for jobs, as its OpenAPI and the windmill-client package read them.
 * Times are ISO strings; a failed job's result is `{ error: { name, message, stack } }`.
 */
export interface WindmillJob {
  type: 'QueuedJob' | 'CompletedJob';
  id: string;
  workspace_id: string;
  parent_job: string | null;
  root_job: string | null;
  script_path: string;
  script_hash: string;
  job_kind: 'script' | 'flow' | 'flowscript' | 'script_hub';
  tag: string;
  args: Json;
  created_at: string;
  scheduled_for: string;
  started_at: string | null;
  running: boolean;
  canceled: boolean;
  canceled_reason?: string;
  success?: boolean;
  result?: Json;
  duration_ms?: number;
  logs: string;
  workflow_as_code_status: Record<
    string,
    { name: string; scheduled_for: string; started_at?: string; duration_ms?: number }
  >;
  /** millrace's own fields, for clients that know them. */
  millrace: {
    kind: string;
    entrypoint: string;
    status: string;
    attempt: number;
    max_attempts: number;
    worker: string | null;
  };
}

/**
 * A stored time as an ISO string. A time outside Date's range (a row written before the
 * server checked `scheduled_in_secs`) reads as a marker, so one bad row cannot make a whole
 * listing fail.
 */
export function iso(ms: number | null): string | null {
  if (ms === null) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `invalid time ${ms}` : date.toISOString();
}

/** What a stored value that cannot be decoded reads as (docs/http-api.md): the reason, under a key of its own. */
export const UNREADABLE = '__millrace_unreadable';

/** A job's result as Windmill gives it: the value for a success, `{ error }` otherwise. */
export function windmillResult(job: JobRecord): Json {
  if (job.status === 'success') return plain(job.result);
  const error = job.error ?? { name: 'Error', message: `job ${job.status}` };
  return { error: { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) } };
}

/**
 * A result as outside clients read it: values that plain JSON cannot hold (a Date, a Map…)
 * are given in their JSON form, so a Windmill client sees ordinary JSON.
 */
export function plain(value: Json | null): Json {
  if (value === null) return null;
  try {
    const decoded = decode(value);
    return JSON.parse(JSON.stringify(decoded, (_k, v: unknown) => toPlain(v)) ?? 'null') as Json;
  } catch (err) {
    // A row written before the server checked values (a forged `{"__millrace":"bigint","value":"zz"}`).
    return { [UNREADABLE]: err instanceof Error ? err.message : String(err) };
  }
}

function toPlain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, val]) => [String(k), val]));
  if (v instanceof Set) return [...v];
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Error) return { name: v.name, message: v.message, stack: v.stack };
  return v;
}

export function logText(lines: LogLine[]): string {
  return lines
    .map((l) => (l.source ? `[${l.source.name} ${shortId(l.source.jobId)}] ${l.line}\n` : `${l.line}\n`))
    .join('');
}

export function toWindmillJob(job: JobRecord, lines: LogLine[], children: JobRecord[]): WindmillJob {
  const completed = job.status === 'success' || job.status === 'failure' || job.status === 'canceled';
  const status: WindmillJob['workflow_as_code_status'] = {};
  for (const c of children) {
    status[c.id] = {
      name: jobName(c),
      scheduled_for: iso(c.scheduledFor)!,
      ...(c.startedAt !== null && { started_at: iso(c.startedAt)! }),
      ...(c.durationMs !== null && { duration_ms: c.durationMs }),
    };
  }
  return {
    type: completed ? 'CompletedJob' : 'QueuedJob',
    id: job.id,
    workspace_id: job.workspace,
    parent_job: job.parentJob,
    root_job: job.rootJob === job.id ? null : job.rootJob,
    script_path: job.scriptPath,
    script_hash: job.scriptHash,
    job_kind: job.kind === 'flow' ? 'flow' : job.kind === 'flowmodule' ? 'flowscript' : 'script',
    tag: job.tag,
    args: plain(job.args),
    created_at: iso(job.createdAt)!,
    scheduled_for: iso(job.scheduledFor)!,
    started_at: iso(job.startedAt),
    running: job.status === 'running' && job.startedAt !== null,
    canceled: job.status === 'canceled',
    ...(job.status === 'canceled' && job.error && { canceled_reason: job.error.message }),
    ...(completed && { success: job.status === 'success', result: windmillResult(job) }),
    ...(job.durationMs !== null && { duration_ms: job.durationMs }),
    logs: logText(lines),
    workflow_as_code_status: status,
    millrace: millraceFields(job),
  };
}

/** millrace's own fields of a job, beside Windmill's, in each job shape the API answers. */
export function millraceFields(job: JobRecord): WindmillJob['millrace'] {
  return {
    kind: job.kind,
    entrypoint: job.entrypoint,
    status: job.status,
    attempt: job.attempt,
    max_attempts: job.maxAttempts,
    worker: job.worker,
  };
}
