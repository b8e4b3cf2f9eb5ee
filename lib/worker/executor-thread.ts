/**
 * The entry point of an executor thread. It imports scripts once and keeps them warm, runs
 * jobs in their async context, captures their console output, and turns task calls into
 * `call` messages for the host. It can run many jobs at once; the host decides how many
 * of them may be working (invariant 3).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { NoMainError, toErrorRecord } from '../errors.js';
import { scriptPathOf } from '../loader/paths.js';
import { decode, encode } from '../serialize.js';
import { findTask } from '../task/registry.js';
import { runtime, type ChildOutcome, type JobScope, type PathCall, type TaskCall } from '../task/runtime.js';
import { DEFAULT_TAG, type ErrorRecord, type Json, type Outcome } from '../types.js';
import { captureConsole } from './console-capture.js';
import type { ChildCall, HostMessage, RunRequest, StepRequest, ThreadData, ThreadMessage } from './protocol.js';
import { loadScript } from './script-loader.js';

const port = parentPort!;
const { root } = workerData as ThreadData;
const post = (msg: ThreadMessage) => port.postMessage(msg);

process.setSourceMapsEnabled(true);

const capture = captureConsole({
  currentJobId: () => runtime.als.getStore()?.context.id,
  line: (jobId, stream, line, ts) => post({ type: 'logs', lines: [{ jobId, stream, line, ts }] }),
});

// A stray rejection or exception in user code (a forgotten promise, a throwing timer) must
// not take down the thread and every other job on it: it is reported in the job's log.
process.on('unhandledRejection', (reason) => report('Unhandled promise rejection', reason));
process.on('uncaughtException', (err) => report('Uncaught exception', err));
function report(what: string, err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`${what}: ${text}`);
}

const pendingCalls = new Map<number, (outcome: ChildOutcome) => void>();
const pendingSteps = new Map<number, (reply: Extract<HostMessage, { type: 'stepDone' }>) => void>();
/** Each running job's abort controller and the calls it awaits, so a stop can end them. */
const jobs = new Map<string, { controller: AbortController; calls: Set<number> }>();
let nextCallId = 1;

port.on('message', (msg: HostMessage) => {
  switch (msg.type) {
    case 'run':
      void runJob(msg.job);
      break;
    case 'callDone': {
      const resolve = pendingCalls.get(msg.callId);
      pendingCalls.delete(msg.callId);
      resolve?.(msg.outcome);
      break;
    }
    case 'stepDone': {
      const resolve = pendingSteps.get(msg.callId);
      pendingSteps.delete(msg.callId);
      resolve?.(msg);
      break;
    }
    case 'abort':
      stop(msg.jobId, msg.error);
      break;
  }
});

/** Aborts a job's signal and ends the calls it awaits with a cancellation, so its code can unwind. */
function stop(jobId: string, error: ErrorRecord): void {
  const job = jobs.get(jobId);
  if (!job) return;
  const reason = Object.assign(new Error(error.message), { name: error.name, code: error.code });
  job.controller.abort(reason);
  for (const callId of job.calls) {
    const resolve = pendingCalls.get(callId);
    pendingCalls.delete(callId);
    resolve?.({ status: 'canceled', error, jobId, tag: '', attempt: 0, maxAttempts: 0 });
  }
  job.calls.clear();
}

post({ type: 'ready' });

async function runJob(req: RunRequest): Promise<void> {
  const state = { controller: new AbortController(), calls: new Set<number>() };
  jobs.set(req.context.id, state);
  const scope = makeScope(req, state);
  let outcome: Outcome;
  await runtime.als.run(scope, async () => {
    post({ type: 'started', jobId: req.context.id, at: Date.now() });
    try {
      const { url, exports: loading } = loadScript(req.file, req.hash);
      const exports = await loading;
      let fn: (...args: unknown[]) => unknown;
      if (req.kind === 'script') {
        if (typeof exports.main !== 'function') throw new NoMainError(req.context.script, Object.keys(exports));
        fn = exports.main as typeof fn;
      } else {
        fn = findTask(url, exports, req.context.script, req.entrypoint).fn as typeof fn;
      }
      const args = req.args.map((a) => (a === undefined ? undefined : decode(a)));
      const result = await fn(...args);
      outcome = { status: 'success', result: encode(result, 'result') };
    } catch (err) {
      outcome = { status: 'failure', error: toErrorRecord(err) };
    }
  });
  jobs.delete(req.context.id);
  capture.flush(req.context.id);
  post({ type: 'done', jobId: req.context.id, outcome: outcome!, at: Date.now() });
}

function makeScope(req: RunRequest, state: { controller: AbortController; calls: Set<number> }): JobScope {
  const parentId = req.context.id;
  // Call keys: a task's name (or '@step:<name>', '@sleep', '@script:<path>', '@flow:<path>',
  // '@module:<id>') plus its occurrence index. Task names cannot start with '@', so the kinds
  // cannot collide.
  const occurrences = new Map<string, number>();
  const nextKey = (name: string) => {
    const n = occurrences.get(name) ?? 0;
    occurrences.set(name, n + 1);
    return `${name}:${n}`;
  };
  let taskKeys: Promise<void> = Promise.resolve();
  // Every call the job awaits is tracked, so that stopping the job settles them at once.
  const track = (send: (callId: number) => void): Promise<ChildOutcome> => {
    if (state.controller.signal.aborted) return Promise.resolve(stoppedOutcome(state.controller.signal));
    const callId = nextCallId++;
    state.calls.add(callId);
    const promise = new Promise<ChildOutcome>((resolve) =>
      pendingCalls.set(callId, (outcome) => {
        state.calls.delete(callId);
        resolve(outcome);
      }),
    );
    send(callId);
    return promise;
  };
  const call = (childCall: ChildCall) => track((callId) => post({ type: 'call', callId, parentId, call: childCall }));
  const askStep = (step: StepRequest) => {
    const callId = nextCallId++;
    const promise = new Promise<Extract<HostMessage, { type: 'stepDone' }>>((resolve) => pendingSteps.set(callId, resolve));
    post({ type: 'step', callId, parentId, step });
    return promise.then((reply) => {
      if (reply.error) throw Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code });
      return reply;
    });
  };
  return {
    context: req.context,
    signal: state.controller.signal,
    callTask(task: TaskCall): Promise<ChildOutcome> {
      const { options } = task.def;
      // Keys are taken in the order the calls were made: a call whose name resolves first
      // still waits for the calls before it (a thread resolves a module's task names on its
      // first calls, through a dynamic import, and those need not finish in order).
      const keyed = taskKeys.then(() => task.naming).then(({ name, moduleUrl }) => ({ name, moduleUrl, callKey: nextKey(name) }));
      taskKeys = keyed.then(
        () => undefined,
        () => undefined,
      );
      return keyed.then(({ name, moduleUrl, callKey }) =>
        call({
          kind: 'task',
          scriptPath: scriptPathOf(root, moduleUrl),
          name,
          tag: options.tag ?? DEFAULT_TAG,
          args: task.args,
          callKey,
          ...(options.timeout !== undefined && { timeout: options.timeout }),
          ...(options.retry !== undefined && { retry: options.retry }),
        }),
      );
    },
    sleep(seconds: number): Promise<ChildOutcome> {
      return call({
        kind: 'sleep',
        scriptPath: req.context.script,
        name: 'sleep',
        tag: req.context.tag,
        args: [seconds],
        callKey: nextKey('@sleep'),
        seconds,
      });
    },
    async step(name: string, fn: () => unknown): Promise<unknown> {
      const callKey = nextKey(`@step:${name}`);
      const recorded = await askStep({ op: 'get', callKey });
      if (recorded.found) return decode(recorded.recorded as Json);
      const startedAt = Date.now();
      const result = encode(await fn(), `step("${name}") result`);
      const stored = await askStep({ op: 'put', callKey, name, scriptPath: req.context.script, result, startedAt, at: Date.now() });
      // The first record at a key stands (a concurrent run of the same job recorded first).
      return decode(stored.recorded as Json);
    },
    callPath(path: PathCall): Promise<ChildOutcome> {
      return call({
        kind: path.kind,
        scriptPath: path.path,
        name: path.name ?? path.path,
        tag: path.tag ?? DEFAULT_TAG,
        args: path.args,
        callKey: nextKey(path.key),
        ...(path.timeout !== undefined && { timeout: path.timeout }),
        ...(path.retry !== undefined && { retry: path.retry }),
        ...(path.detach && { detach: true }),
      });
    },
    jobOp(op, jobId, reason): Promise<ChildOutcome> {
      return track((callId) => post({ type: 'jobOp', callId, parentId, op, jobId, ...(reason !== undefined && { reason }) }));
    },
    setFlowStatus(status): void {
      post({ type: 'flowStatus', jobId: parentId, status });
    },
  };
}

function stoppedOutcome(signal: AbortSignal): ChildOutcome {
  const reason = signal.reason as { name?: string; message?: string; code?: string } | undefined;
  return {
    status: 'canceled',
    error: { name: reason?.name ?? 'CanceledError', message: reason?.message ?? 'the job was stopped', code: reason?.code },
    jobId: '(not submitted)',
    tag: '',
    attempt: 0,
    maxAttempts: 0,
  };
}
