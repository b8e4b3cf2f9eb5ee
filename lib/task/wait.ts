import { CanceledError, MillraceError, NotInJobError, TaskDefinitionError } from '../errors.js';
import { fromErrorRecord } from '../error-record.js';
import { checkValueSize } from '../limits.js';
import { decode, encode } from '../serialize.js';
import type { Approval, Json, ResumeUrls } from '../types.js';
import {
  approvalEventName,
  checkEventName,
  checkResumeKey,
  checkWaitTimeout,
  DEFAULT_APPROVAL_KEY,
} from '../wait-names.js';
import { runtime, type ChildOutcome, type JobScope } from './runtime.js';

/**
 * Waits inside a job for the outside world: an event sent to the job, or an approval. Each wait
 * is a child job of kind `wait` (like a durable sleep), so the job holds no executor slot
 * meanwhile, the wait survives the restart of every process, and a job that runs again gets
 * the event it already received (replay, by call key) instead of waiting twice.
 */

export interface WaitOptions {
  /** Seconds to wait at most; then the wait throws WaitTimeoutError (which the job may catch). @default no limit */
  timeout?: number;
}

/**
 * Suspends the job until an event named `name` is sent to it (`sendEvent`, `millrace send`,
 * `POST /api/w/{ws}/jobs/{id}/events/{name}`), and resolves with its payload. An event sent
 * before the wait began was kept: the wait takes it at once.
 *
 * ```ts
 * const payment = await waitForEvent<{ amount: number }>('paid', { timeout: 3600 });
 * ```
 */
export async function waitForEvent<T = unknown>(name: string, options: WaitOptions = {}): Promise<T> {
  checkEventName(name, 'waitForEvent(name)');
  const timeout = checkWaitTimeout(options.timeout, `waitForEvent("${name}")`);
  const scope = waitingScope(`waitForEvent("${name}")`);
  return settle(await scope.waitEvent!({ name, timeout, args: [timeout === undefined ? {} : { timeout }] })) as T;
}

export interface ApprovalOptions extends WaitOptions {
  /** A JSON schema: the value an approver sends must fit it (checked by the server, a 400 naming the field). */
  form?: Json;
  /** Tells apart several approvals of one job; the resume id of its URLs. @default 'approval' */
  key?: string;
}

/**
 * Suspends the job until its approval's resume URL (approve) or cancel URL (reject) is used
 * (see getResumeUrls), and resolves with `{ approved, value, approver }`.
 */
export async function waitForApproval<T = unknown>(options: ApprovalOptions = {}): Promise<Approval<T>> {
  const key = checkResumeKey(options.key ?? DEFAULT_APPROVAL_KEY, 'waitForApproval({ key })');
  const timeout = checkWaitTimeout(options.timeout, `waitForApproval({ key: "${key}" })`);
  const form = options.form ?? null;
  if (form !== null && (typeof form !== 'object' || Array.isArray(form))) {
    throw new TaskDefinitionError(
      `waitForApproval({ form }): expected a JSON schema (an object), got ${JSON.stringify(form)}`,
    );
  }
  const scope = waitingScope('waitForApproval()');
  const args: Json[] = [{ form, key, ...(timeout !== undefined && { timeout }) }];
  return settle(await scope.waitEvent!({ name: approvalEventName(key), timeout, args })) as Approval<T>;
}

/**
 * The signed URLs of the job's approval `key`: a page of the web UI, and Windmill's resume and
 * cancel URLs. They work without a token; each answers once. The job must run on a server
 * (`millrace server`, `millrace dev`), whose public URL they start with.
 */
export async function getResumeUrls(key: string = DEFAULT_APPROVAL_KEY): Promise<ResumeUrls> {
  checkResumeKey(key, 'getResumeUrls(key)');
  const scope = waitingScope('getResumeUrls()');
  if (!scope.resumeUrls) throw olderExecutor('getResumeUrls()');
  const outcome = await scope.resumeUrls(key);
  if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
  return outcome.result as unknown as ResumeUrls;
}

/** Inside a job: sends an event through its worker. (Outside one, see helpers/helpers.ts.) */
export async function sendEventFromJob(scope: JobScope, jobId: string, name: string, payload: unknown): Promise<Json> {
  if (!scope.sendEvent) throw olderExecutor('sendEvent()');
  const encoded = encode(payload, 'payload');
  checkValueSize(encoded, `The payload of event "${name}"`);
  const outcome = await scope.sendEvent(jobId, name, encoded);
  if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
  return outcome.result;
}

function waitingScope(what: string): JobScope {
  const scope = runtime.als.getStore();
  if (!scope) throw new NotInJobError(`${what} works only inside a job: a wait is a child of the job that waits`);
  if (!scope.waitEvent) throw olderExecutor(what);
  return scope;
}

function olderExecutor(what: string): MillraceError {
  return new MillraceError(
    `${what}: this job runs on an executor of an older millrace, which cannot wait for events; upgrade the worker's millrace`,
  );
}

/** A wait's outcome: its payload, or the error it ended with (WaitTimeoutError, CanceledError). */
function settle(outcome: ChildOutcome): unknown {
  if (outcome.status === 'success') return decode(outcome.result);
  if (outcome.status === 'canceled') throw new CanceledError(outcome.jobId, outcome.error.message);
  throw fromErrorRecord(outcome.error);
}
