import { CanceledError, JobNotFinishedError, MillraceError, TaskError } from '../errors.js';
import { fromErrorRecord } from '../error-record.js';
import { checkValueSize } from '../limits.js';
import { decode, encode } from '../serialize.js';
import { runtime, type ChildOutcome, type JobScope } from '../task/runtime.js';
import { sendEventFromJob } from '../task/wait.js';
import type { EventSent, JobRecord, JobStatus, Json } from '../types.js';
import { checkEventName } from '../wait-names.js';
import type { ConnectOptions, Connection, RunOptions } from './connection.js';
import { resultOf } from './outcome.js';

/**
 * runScript / runFlow and their async variants, and the job helpers. Inside a job they make
 * child jobs of the calling job, as a task call does (recorded link, log lines forwarded,
 * a call key for durable replay). Outside a job they go through the connection configured:
 * the embedded one by default, or a server (MILLRACE_SERVER / MILLRACE_TOKEN, or configure()).
 */

/** A handle on the configured connection; close it so that the process can exit. */
export interface ConnectionHandle {
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// One connection per process, even when this module is loaded twice (the CLI's copy and a script's).
const KEY = Symbol.for('millrace.connection.v1');
const holder = globalThis as unknown as { [KEY]?: { connection: Connection | undefined; options: ConnectOptions } };
const state = (holder[KEY] ??= { connection: undefined, options: {} });

/**
 * Sets where the helpers send work from outside a job. Without a server (here or in
 * MILLRACE_SERVER) that is an embedded engine in this process. A connection already open is closed.
 */
export function configure(options: ConnectOptions = {}): ConnectionHandle {
  const previous = state.connection;
  state.connection = undefined;
  state.options = { ...options };
  void previous?.close();
  const close = () => disconnect();
  return { close, [Symbol.asyncDispose]: close };
}

/** Closes the connection the helpers use outside a job (an embedded engine's threads, a server's sockets). */
export async function disconnect(): Promise<void> {
  const open = state.connection;
  state.connection = undefined;
  await open?.close();
}

// getProgress (progress.ts) reads through the same connection.
export { connection };

/** The configured connection, made on first use (its module loaded then: a script that only defines tasks does not pay for it). */
async function connection(): Promise<Connection> {
  if (state.connection) return state.connection;
  const server = state.options.server ?? (process.env.MILLRACE_SERVER || undefined);
  const made = server
    ? await (await import('./server-connection.js')).ServerConnection.open({ ...state.options, server })
    : new (await import('./embedded-connection.js')).EmbeddedConnection(state.options);
  // Two first calls at once: the first one made is kept.
  if (state.connection) {
    void made.close();
    return state.connection;
  }
  state.connection = made;
  return made;
}

/** Runs the script at `path` with args by name and resolves with its result. */
export async function runScript(
  path: string,
  args: Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<unknown> {
  return run('script', path, args, options, false);
}

/** Submits the script at `path` and resolves with the job's id at once. */
export async function runScriptAsync(
  path: string,
  args: Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<string> {
  return run('script', path, args, options, true) as Promise<string>;
}

/** Runs the flow at `path` (`P` for `P.flow.yaml` / `P.flow.json`) and resolves with its result. */
export async function runFlow(
  path: string,
  args: Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<unknown> {
  return run('flow', path, args, options, false);
}

/** Submits the flow at `path` and resolves with the job's id at once. */
export async function runFlowAsync(
  path: string,
  args: Record<string, unknown> = {},
  options: RunOptions = {},
): Promise<string> {
  return run('flow', path, args, options, true) as Promise<string>;
}

/** Resolves with the job's result once it has finished; rejects with a TaskError when it failed. */
export async function waitJob(jobId: string): Promise<unknown> {
  const scope = jobScope();
  if (!scope) return (await connection()).wait(jobId);
  return fromOutcome(await scope.jobOp('wait', jobId), jobId);
}

/** The result of a finished job; rejects when it has not finished yet, or failed. */
export async function getResult(jobId: string): Promise<unknown> {
  const scope = jobScope();
  if (!scope) return (await connection()).result(jobId);
  const job = await readJob(scope, jobId);
  if (job.status === 'queued' || job.status === 'running') throw new JobNotFinishedError(jobId, job.status);
  return resultOf(job);
}

/** Where the job is: 'queued' | 'running' | 'success' | 'failure' | 'canceled'. */
export async function getJobStatus(jobId: string): Promise<JobStatus> {
  const scope = jobScope();
  if (!scope) return (await connection()).status(jobId);
  return (await readJob(scope, jobId)).status;
}

/** Cancels the job and its unfinished descendants. */
export async function cancelJob(jobId: string, reason = 'canceled'): Promise<void> {
  const scope = jobScope();
  if (!scope) return (await connection()).cancel(jobId, reason);
  const outcome = await scope.jobOp('cancel', jobId, reason);
  if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
}

/**
 * Sends an event to a job: its `waitForEvent(name)` resolves with `payload` (which follows the
 * serialisation contract of task args). An event sent before the wait began is kept for it.
 * Rejects with UnknownJobError for no such job, JobFinishedError for one that has finished.
 */
export async function sendEvent(jobId: string, name: string, payload: unknown = null): Promise<EventSent> {
  checkEventName(name, 'sendEvent(jobId, name)');
  if (typeof jobId !== 'string' || jobId === '')
    throw new MillraceError(`sendEvent(jobId): expected a job id, got ${JSON.stringify(jobId)}`);
  const scope = jobScope();
  if (!scope) return (await connection()).sendEvent(jobId, name, payload);
  return (await sendEventFromJob(scope, jobId, name, payload)) as unknown as EventSent;
}

async function run(
  kind: 'script' | 'flow',
  path: string,
  args: Record<string, unknown>,
  options: RunOptions,
  detach: boolean,
): Promise<unknown> {
  checkInputs(path, args, options);
  const scope = jobScope();
  if (scope && options.idempotencyKey !== undefined) {
    throw new MillraceError(
      `options.idempotencyKey is for submissions from outside a job; inside job ${scope.context.id} a call is made once per run already (durable replay)`,
    );
  }
  if (!scope) {
    const c = await connection();
    const id = await c.submit(kind, path, args, options);
    return detach ? id : c.wait(id);
  }
  const encoded: Record<string, Json> = {};
  for (const [k, v] of Object.entries(args)) if (v !== undefined) encoded[k] = encode(v, `args.${k}`);
  checkValueSize(encoded, `The args of a call to ${kind} ${path}`);
  const outcome = await scope.callPath({
    kind,
    path,
    args: encoded,
    tag: options.tag,
    key: `@${kind}:${path}`,
    ...(options.timeout !== undefined && { timeout: options.timeout }),
    ...(detach && { detach: true }),
  });
  if (detach) {
    if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
    return outcome.jobId;
  }
  return fromOutcome(outcome, path);
}

function jobScope(): JobScope | undefined {
  const scope = runtime.als.getStore();
  if (!scope) return undefined;
  return scope;
}

async function readJob(scope: JobScope, jobId: string): Promise<JobRecord> {
  const outcome = await scope.jobOp('get', jobId);
  if (outcome.status !== 'success') throw fromErrorRecord(outcome.error);
  const job = outcome.result as unknown as JobRecord | null;
  if (!job) throw new MillraceError(`No job with id "${jobId}"`);
  return job;
}

function fromOutcome(outcome: ChildOutcome, name: string): unknown {
  switch (outcome.status) {
    case 'success':
      return decode(outcome.result);
    case 'canceled':
      throw new CanceledError(outcome.jobId, outcome.error.message);
    case 'failure':
      // A call that could not even be submitted (bad args, unknown path) fails with its own error.
      if (outcome.jobId === '(not submitted)') throw fromErrorRecord(outcome.error);
      throw new TaskError({
        jobId: outcome.jobId,
        taskName: name,
        tag: outcome.tag,
        attempt: outcome.attempt,
        maxAttempts: outcome.maxAttempts,
        error: outcome.error,
      });
  }
}

function checkInputs(path: string, args: unknown, options: RunOptions): void {
  if (typeof path !== 'string' || path.trim() === '')
    throw new MillraceError(`Expected a script or flow path, got ${JSON.stringify(path)}`);
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new MillraceError(
      `Expected args as an object by parameter name, got ${Array.isArray(args) ? 'an array' : JSON.stringify(args)}`,
    );
  }
  if (options.timeout !== undefined && !(typeof options.timeout === 'number' && options.timeout > 0)) {
    throw new MillraceError(
      `options.timeout must be a positive number of seconds, got ${JSON.stringify(options.timeout)}`,
    );
  }
  const key = options.idempotencyKey;
  if (key !== undefined && !(typeof key === 'string' && key.length >= 1 && key.length <= 255)) {
    throw new MillraceError(
      `options.idempotencyKey must be a string of 1 to 255 characters, got ${typeof key === 'string' ? `${key.length} characters` : JSON.stringify(key)}`,
    );
  }
}
