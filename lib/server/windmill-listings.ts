import { iso, millraceFields, plain, toWindmillJob, windmillResult, type WindmillJob } from '../http/windmill.js';
import { type JobRecord, type Json, type LogLine } from '../types.js';

/**
 * The rows of Windmill's job listings, as its API answers them (`ListableQueuedJob` of
 * `jobs/queue/list`, `ListableCompletedJob` of `jobs/completed/list`), and the completed job of
 * `jobs_u/completed/get`. Fields millrace does not record (`created_by`, `permissioned_as`,
 * `email`, `schedule_path`, `language`, `mem_peak`, `labels`, `suspend`) are left out rather
 * than made up; `millrace` carries millrace's own, as in `jobs_u/get`.
 */

/** Windmill's `job_kind` of a millrace job (a flow's module is a `flowscript`). */
function jobKind(job: JobRecord): WindmillJob['job_kind'] {
  return job.kind === 'flow' ? 'flow' : job.kind === 'flowmodule' ? 'flowscript' : 'script';
}

/** A row of `jobs/queue/list`: a queued or running job. Args only with `include_args`, as on Windmill. */
export interface QueuedListing {
  id: string;
  workspace_id: string;
  running: boolean;
  created_at: string;
  started_at: string | null;
  scheduled_for: string;
  script_hash: string;
  script_path: string;
  args: Json | null;
  job_kind: WindmillJob['job_kind'];
  is_flow_step: boolean;
  tag: string;
  priority: number;
  millrace: WindmillJob['millrace'];
}

export function queuedListing(job: JobRecord, options: { includeArgs: boolean }): QueuedListing {
  return {
    id: job.id,
    workspace_id: job.workspace,
    // Claimed by a worker, as the `running` filter reads it (Windmill's is set when a worker
    // pulls the job). A worker may claim a job ahead of a free slot: started_at is null until it starts.
    running: job.status === 'running',
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    scheduled_for: iso(job.scheduledFor)!,
    script_hash: job.scriptHash,
    script_path: job.scriptPath,
    args: options.includeArgs ? plain(job.args) : null,
    job_kind: jobKind(job),
    is_flow_step: job.kind === 'flowmodule',
    tag: job.tag,
    priority: job.priority,
    millrace: millraceFields(job),
  };
}

/**
 * A row of `jobs/completed/list`: a finished job, without its result or log (Windmill's
 * listing has neither). Optional fields are absent when empty, as Windmill serialises them.
 */
export interface CompletedListing {
  type: 'CompletedJob';
  workspace_id: string;
  id: string;
  parent_job?: string;
  created_at: string;
  /** Null for a job canceled before it started. */
  started_at: string | null;
  duration_ms: number;
  success: boolean;
  script_hash: string;
  script_path: string;
  deleted: false;
  canceled: boolean;
  canceled_by?: string;
  canceled_reason?: string;
  job_kind: WindmillJob['job_kind'];
  is_flow_step: boolean;
  /** millrace never skips a job. */
  is_skipped: false;
  tag: string;
  priority: number;
  args?: Json;
  millrace: WindmillJob['millrace'];
}

export function completedListing(job: JobRecord, options: { includeArgs: boolean }): CompletedListing {
  const canceled = job.status === 'canceled';
  return {
    type: 'CompletedJob',
    workspace_id: job.workspace,
    id: job.id,
    ...(job.parentJob !== null && { parent_job: job.parentJob }),
    created_at: iso(job.createdAt)!,
    started_at: iso(job.startedAt),
    duration_ms: job.durationMs ?? 0,
    success: job.status === 'success',
    script_hash: job.scriptHash,
    script_path: job.scriptPath,
    deleted: false,
    canceled,
    ...(canceled && job.canceledBy !== null && { canceled_by: job.canceledBy }),
    ...(canceled && job.error && { canceled_reason: job.error.message }),
    job_kind: jobKind(job),
    is_flow_step: job.kind === 'flowmodule',
    is_skipped: false,
    tag: job.tag,
    priority: job.priority,
    ...(options.includeArgs && { args: plain(job.args) }),
    millrace: millraceFields(job),
  };
}

/**
 * `jobs_u/completed/get`: the job as `jobs_u/get` gives a finished one (its result, log and
 * children's timing), with the fields of Windmill's `CompletedJob` that `jobs_u/get` leaves out.
 */
export function completedJob(job: JobRecord, lines: LogLine[], children: JobRecord[]) {
  const canceled = job.status === 'canceled';
  return {
    ...toWindmillJob(job, lines, children),
    type: 'CompletedJob' as const,
    completed_at: iso(job.completedAt),
    duration_ms: job.durationMs ?? 0,
    success: job.status === 'success',
    result: windmillResult(job),
    ...(canceled && job.canceledBy !== null && { canceled_by: job.canceledBy }),
    deleted: false,
    is_flow_step: job.kind === 'flowmodule',
    is_skipped: false,
    priority: job.priority,
  };
}
