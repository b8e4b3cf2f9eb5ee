import type { CancelBody, ChildBody, ClaimBody, HeartbeatBody, JobBody, StepBody, WaitBody } from '../http/wire.js';
import type { Outcome } from '../types.js';
import { HttpError } from './http-error.js';
import { MAX_LEASE_MS, MAX_PAGE } from './limits.js';
import { number, numberIn, object, optionalString, storableValue, string, strings, tags, time } from './validate.js';

/**
 * The bodies of the worker routes (`worker/*`), checked and typed: each function takes the
 * parsed JSON and returns the body of http/wire.ts, or throws the 400 that names the first
 * bad field. The routes check a body in stages where a lookup comes between its fields (the
 * parent job, the worker's record), so that which answer a request with several faults gets
 * stays what it was: the part before the lookup (`parseWorkerName`, `parseParentRef`, …), then
 * the whole body (re-checking that part costs nothing). The report's events are parsed in
 * worker-report.ts, workflow_as_code's calls in parse-task-calls.ts.
 */

/** What claim and heartbeat say of the worker, checked before its record is touched. */
export function parseWorkerName(raw: unknown): Pick<ClaimBody, 'worker_id' | 'tags' | 'hostname'> {
  const body = object(raw);
  return { worker_id: string(body, 'worker_id'), tags: tags(body, 'tags'), hostname: string(body, 'hostname') };
}

/** The parent a child or step body names, checked before the parent is looked up. */
export function parseParentRef(raw: unknown): Pick<ChildBody, 'parent_job'> {
  return { parent_job: string(object(raw), 'parent_job') };
}

/** The lease a step's worker claims to hold, checked before the lease is. */
export function parseStepLease(raw: unknown): Pick<StepBody, 'worker_id' | 'parent_attempt'> {
  const body = object(raw);
  return { worker_id: string(body, 'worker_id'), parent_attempt: number(body, 'parent_attempt') };
}

export function parseClaim(raw: unknown): ClaimBody {
  const body = object(raw);
  return {
    worker_id: string(body, 'worker_id'),
    tags: tags(body, 'tags'),
    hostname: string(body, 'hostname'),
    limit: numberIn(body, 'limit', { min: 1, max: MAX_PAGE, integer: true }),
    wait_ms: number(body, 'wait_ms'),
    lease_ms: leaseMs(body),
  };
}

export function parseHeartbeat(raw: unknown): HeartbeatBody {
  const body = object(raw);
  return {
    worker_id: string(body, 'worker_id'),
    tags: tags(body, 'tags'),
    hostname: string(body, 'hostname'),
    job_ids: strings(body, 'job_ids'),
    lease_ms: leaseMs(body),
  };
}

export function parseWait(raw: unknown): WaitBody {
  const body = object(raw);
  return { ids: strings(body, 'ids'), wait_ms: number(body, 'wait_ms') };
}

export function parseChild(raw: unknown): ChildBody {
  const body = object(raw);
  return { parent_job: string(body, 'parent_job'), call_key: string(body, 'call_key') };
}

export function parseJob(raw: unknown): JobBody {
  return { job_id: string(object(raw), 'job_id') };
}

export function parseCancel(raw: unknown): CancelBody {
  const body = object(raw);
  const reason = optionalString(body, 'reason');
  return { job_id: string(body, 'job_id'), ...(reason !== undefined && { reason }) };
}

/** A step's outcome, checked (see parseStep), then its script's path, checked before the script is resolved. */
export function parseStepScript(raw: unknown): string {
  const body = object(raw);
  stepOutcome(body);
  return string(body, 'script_path');
}

/** A step body: its outcome is always a success (the route records no other). */
export function parseStep(raw: unknown): StepBody {
  const body = object(raw);
  const parentJob = string(body, 'parent_job');
  const workerId = string(body, 'worker_id');
  const parentAttempt = number(body, 'parent_attempt');
  const outcome = stepOutcome(body);
  return {
    parent_job: parentJob,
    worker_id: workerId,
    parent_attempt: parentAttempt,
    outcome,
    script_path: string(body, 'script_path'),
    script_hash: string(body, 'script_hash'),
    name: string(body, 'name'),
    call_key: string(body, 'call_key'),
    started_at: time(body, 'started_at'),
    at: time(body, 'at'),
  };
}

/** A lease a worker asks for: whole milliseconds, at most MAX_LEASE_MS. */
function leaseMs(body: Record<string, unknown>): number {
  return numberIn(body, 'lease_ms', { min: 1, max: MAX_LEASE_MS, integer: true });
}

function stepOutcome(body: Record<string, unknown>): Outcome {
  const outcome = object(body.outcome, 'body.outcome') as unknown as Outcome;
  if (outcome.status !== 'success')
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `body.outcome.status: expected success, got ${JSON.stringify(outcome.status)}`,
    );
  storableValue(outcome.result ?? null, 'body.outcome.result');
  return outcome;
}
