import { describeValue } from '../describe.js';
import type {
  EntrypointCallBody,
  InlineCheckpointBody,
  TaskCall,
  TaskCallCaller,
  TaskCallEnded,
  TaskCallKind,
  TaskCallScript,
} from '../http/wire.js';
import type { Json } from '../types.js';
import { HttpError } from './http-error.js';
import { parseFlowFields } from './parse-flow-control.js';
import { MAX_DELAY_SECS, MAX_LEASE_MS, MAX_TIMEOUT_SECS } from './limits.js';
import {
  array,
  numberIn,
  object,
  optionalNumberIn,
  optionalString,
  retryOptions,
  storableValue,
  string,
  time,
} from './validate.js';

/**
 * The body of `jobs/run/workflow_as_code/{parent}/{task}`, checked in three parts
 * because the route checks the lease and the script between them (a caller that does not
 * hold the parent's lease hears so before anything about its calls): who calls, the script
 * all the calls share, then the calls. Each returns the typed part of http/wire.ts or throws
 * the 400 that names the first bad field.
 */

type Obj = Record<string, unknown>;

const KINDS: readonly TaskCallKind[] = ['task', 'sleep', 'wait', 'script', 'flow', 'flowmodule'];

/** Whether the calls name a script, flow or flow step by path, with args by name (runScript, runFlow, a flow's step). */
export function byPath(kind: TaskCallKind): boolean {
  return kind === 'script' || kind === 'flow' || kind === 'flowmodule';
}

/** The worker that holds the parent's lease, and its attempt, when the caller names them. */
export function parseTaskCallCaller(body: Obj): TaskCallCaller {
  const workerId = optionalString(body, 'worker_id');
  if (workerId === undefined) return {};
  const leaseMs = optionalNumberIn(body, 'lease_ms', { min: 1, max: MAX_LEASE_MS, integer: true });
  return {
    worker_id: workerId,
    parent_attempt: numberIn(body, 'parent_attempt', { min: 0, max: 2 ** 31, integer: true }),
    ...(leaseMs !== undefined && { lease_ms: leaseMs }),
  };
}

/**
 * Whether the body is Windmill's v1 task call (EntrypointCallBody): it names no script and
 * holds no batch, so the child runs the parent's own script by entrypoint.
 */
export function isEntrypointCall(body: Obj): boolean {
  return body.script_path === undefined && body.calls === undefined;
}

/** Windmill's v1 task call: the function's args by name. */
export function parseEntrypointCall(body: Obj): EntrypointCallBody {
  const args = body.args;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `body.args: expected the function's args by name (a JSON object), or body.script_path and body.script_hash for millrace's form, got ${describeValue(args)}`,
    );
  }
  return { args: storableValue(args, 'body.args') as Record<string, Json> };
}

/** The script every call of the request runs, and the request's kind (`task` when none is given). */
export function parseTaskCallScript(body: Obj): Required<TaskCallScript> {
  const scriptPath = string(body, 'script_path');
  const scriptHash = string(body, 'script_hash');
  const kind = optionalString(body, 'kind') ?? 'task';
  if (!(KINDS as readonly string[]).includes(kind)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `body.kind: expected task, sleep, wait, script, flow or flowmodule, got ${JSON.stringify(kind)}`,
    );
  }
  return { script_path: scriptPath, script_hash: scriptHash, kind: kind as TaskCallKind };
}

/**
 * The calls: millrace's batch (`calls`, the calls a job made in one tick) or Windmill's one
 * call whose fields are the body's own. All are checked before any is submitted.
 */
export function parseTaskCalls(body: Obj, kind: TaskCallKind): TaskCall[] {
  if (Array.isArray(body.calls))
    return body.calls.map((call, i) => parseTaskCall(object(call, `body.calls[${i}]`), `body.calls[${i}]`, kind));
  return [parseTaskCall(body, 'body', kind)];
}

/** A job id as millrace makes them (ids.ts): what a worker may choose for a child it takes. */
const TAKE_ID = /^[0-9a-z]{20}$/;

/** A call's `take_id`: only from a worker that names itself, and only an id of millrace's form. */
function parseTakeId(call: Obj, field: string): string | undefined {
  const id = optionalString(call, 'take_id', `${field}.take_id`);
  if (id === undefined) return undefined;
  if (!TAKE_ID.test(id)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${field}.take_id: expected a job id of 20 characters of 0-9 and a-z, got ${describeValue(id)}`,
    );
  }
  return id;
}

/** One call. In a batch of tasks a call may be a sleep and the reverse; a batch by path holds its own kind only. */
function parseTaskCall(call: Obj, field: string, bodyKind: TaskCallKind): TaskCall {
  const retry = call.retry === undefined ? undefined : retryOptions(call.retry, `${field}.retry`);
  const kind = (optionalString(call, 'kind', `${field}.kind`) ?? bodyKind) as TaskCallKind;
  if (kind !== bodyKind && (byPath(bodyKind) || byPath(kind))) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${field}.kind: expected "task", "sleep" or "wait" in a batch of kind ${JSON.stringify(bodyKind)}, got ${JSON.stringify(kind)}`,
    );
  }
  const delaySecs = optionalNumberIn(
    call,
    'scheduled_in_secs',
    { min: 0, max: MAX_DELAY_SECS },
    `${field}.scheduled_in_secs`,
  );
  const args = storableValue(
    !byPath(bodyKind) ? array(call, 'args', `${field}.args`) : object(call.args, `${field}.args`),
    `${field}.args`,
  );
  const tag = optionalString(call, 'tag', `${field}.tag`);
  const callKey = optionalString(call, 'call_key', `${field}.call_key`);
  const timeout = optionalNumberIn(call, 'timeout', { min: 0, max: MAX_TIMEOUT_SECS }, `${field}.timeout`);
  const takeId = parseTakeId(call, field);
  const ended = call.ended === undefined ? undefined : parseEnded(call.ended, `${field}.ended`, takeId);
  const takenAt = call.taken_at === undefined ? undefined : time(call, 'taken_at', `${field}.taken_at`);
  return {
    ...parseFlowFields(call, field),
    args,
    kind,
    ...(retry !== undefined && { retry }),
    ...(delaySecs !== undefined && { scheduled_in_secs: delaySecs }),
    ...(tag !== undefined && { tag }),
    ...(callKey !== undefined && { call_key: callKey }),
    ...(timeout !== undefined && { timeout }),
    ...(takeId !== undefined && { take_id: takeId }),
    ...(ended !== undefined && { ended }),
    ...(takenAt !== undefined && { taken_at: takenAt }),
  };
}

/** A call's `ended`: only with its `take_id`, a result and the worker's times. */
function parseEnded(raw: unknown, field: string, takeId: string | undefined): TaskCallEnded {
  if (takeId === undefined) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${field}: a child that ran before it was recorded is taken by the calling worker: the call's take_id is expected with it`,
    );
  }
  const ended = object(raw, field);
  if (!('result' in ended))
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `${field}.result: expected the child's result (any JSON value), got nothing`,
    );
  const startedAt = ended.started_at === undefined ? undefined : time(ended, 'started_at', `${field}.started_at`);
  return {
    result: storableValue(ended.result, `${field}.result`),
    ...(startedAt !== undefined && { started_at: startedAt }),
    at: time(ended, 'at', `${field}.at`),
  };
}

/** Windmill's inline checkpoint (a `step()`'s result): its key, result, and when it ran. */
export function parseInlineCheckpoint(body: Obj): InlineCheckpointBody {
  const key = string(body, 'key');
  if (!('result' in body)) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      "body.result: expected the step's result (any JSON value, null included), got nothing",
    );
  }
  const result = storableValue(body.result, 'body.result');
  const startedAt = optionalString(body, 'started_at');
  if (startedAt !== undefined && Number.isNaN(Date.parse(startedAt))) {
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `body.started_at: expected an ISO date and time, got ${describeValue(startedAt)}`,
    );
  }
  const durationMs = optionalNumberIn(body, 'duration_ms', { min: 0, max: MAX_TIMEOUT_SECS * 1000 });
  return {
    key,
    result,
    ...(startedAt !== undefined && { started_at: startedAt }),
    ...(durationMs !== undefined && { duration_ms: durationMs }),
  };
}
