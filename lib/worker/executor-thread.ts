/**
 * The entry point of an executor thread. It imports scripts once per version and keeps them warm, runs
 * jobs in their async context, captures their console output, and turns task calls into
 * `call` messages for the host. It can run many jobs at once; the host decides how many
 * of them may be working (invariant 3).
 */
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { NoMainError } from '../errors.js';
import { toErrorRecord } from '../error-record.js';
import { checkValueSize, cutErrorRecord, cutLogLine } from '../limits.js';
import { scriptPathOf } from '../loader/paths.js';
import { decode, encode } from '../serialize.js';
import { moduleFile } from '../task/module-identity.js';
import { withTaskName } from '../flow-options.js';
import { findTask } from '../task/registry.js';
import { runtime, type ChildOutcome, type JobScope, type PathCall, type TaskCall } from '../task/runtime.js';
import { DEFAULT_TAG, type ErrorRecord, type Json, type Outcome } from '../types.js';
import { captureConsole } from './console-capture.js';
import { inJobSpan, startThreadTracing } from '../tracing/thread.js';
import { guardProcessExit } from './exit-guard.js';
import { ModuleVersions } from './module-versions.js';
import type { ChildCall, HostMessage, RunRequest, StepRequest, ThreadData, ThreadMessage } from './protocol.js';

// Declared before the first await below: a run request can arrive while tracing starts.
const require = createRequire(import.meta.url);
const port = parentPort!;
const { root, maxVersions } = workerData as ThreadData;
const post = (msg: ThreadMessage) => port.postMessage(msg);

process.setSourceMapsEnabled(true);

const capture = captureConsole({
  currentJobId: () => runtime.als.getStore()?.context.id,
  // Cut here, where the line is made: a line over the limit could not be reported whole.
  line: (jobId, stream, line, ts) => post({ type: 'logs', lines: [{ jobId, stream, line: cutLogLine(line), ts }] }),
});

// process.exit in a job fails that job, not the thread and the other jobs on it.
guardProcessExit({
  currentJobId: () => runtime.als.getStore()?.context.id,
  onJobExit: (jobId, error) => {
    const job = jobs.get(jobId);
    if (!job) return;
    const record = toErrorRecord(error);
    // Its awaited calls end and its signal aborts first (stop needs it still listed), then it ends.
    stop(jobId, record);
    job.end({ status: 'failure', error: record });
  },
});

// A stray rejection or exception in user code (a forgotten promise, a throwing timer) must
// not take down the thread and every other job on it: it is reported in the job's log.
process.on('unhandledRejection', (reason) => report('Unhandled promise rejection', reason));
process.on('uncaughtException', (err) => report('Uncaught exception', err));
function report(what: string, err: unknown): void {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`${what}: ${text}`);
}

const versions = new ModuleVersions({ root, maxVersions });
/** Imports by URL (a file in one version of the project). */
const modules = new Map<string, Promise<Record<string, unknown>>>();
const pendingCalls = new Map<number, (outcome: ChildOutcome) => void>();
const pendingSteps = new Map<number, (reply: Extract<HostMessage, { type: 'stepDone' }>) => void>();
/**
 * Each running job's abort controller and the calls it awaits, so a stop can end them, and
 * how to report its end (once: a job that called process.exit has ended before its code returns).
 */
interface JobState {
  controller: AbortController;
  calls: Set<number>;
  end(outcome: Outcome): void;
}
const jobs = new Map<string, JobState>();
let nextCallId = 1;
/** Until the thread has booted, what the host sent that runs code. */
let booting: { runs: RunRequest[]; aborts: { jobId: string; error: ErrorRecord }[] } | undefined = {
  runs: [],
  aborts: [],
};

port.on('message', (msg: HostMessage) => {
  switch (msg.type) {
    case 'run':
      if (booting) booting.runs.push(msg.job);
      else void runJob(msg.job);
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
      if (booting) booting.aborts.push(msg);
      else stop(msg.jobId, msg.error);
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

// With OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT set, jobs' code runs in their spans (tracing/thread.ts).
// Runs (and their aborts) sent while it loads wait for it, so that they run in their spans.
await startThreadTracing();
const early = booting;
booting = undefined;
for (const job of early.runs) void runJob(job);
for (const { jobId, error } of early.aborts) stop(jobId, error);
post({ type: 'ready' });

/**
 * The job's module, imported under the version of the project that holds its file at its
 * hash (see module-versions.ts); undefined if this thread cannot run it (the host places it
 * elsewhere). A failed import is not kept: the next job imports the file anew.
 */
async function load(req: RunRequest): Promise<{ url: string; exports: Record<string, unknown> } | undefined> {
  const placement = await versions.place(req.file, req.hash);
  if (placement.kind === 'refuse') {
    post({ type: 'refused', jobId: req.context.id, reason: placement.reason });
    return undefined;
  }
  post({ type: 'started', jobId: req.context.id, at: Date.now() });
  // .cts and .cjs scripts are required: imported, Node evaluates them with the ESM loader's
  // own require, which skips tsx's require hook, so a .ts helper they require would fail.
  // Their tasks register under the plain file URL; a changed one retires the thread (the
  // require cache holds one version of a file), as module-versions.ts decides.
  const commonJs = isCommonJsOnly(req.file);
  const url = commonJs ? pathToFileURL(req.file).href : placement.url;
  let exports = modules.get(url);
  if (!exports) {
    exports = commonJs
      ? Promise.resolve().then(() => require(req.file) as Record<string, unknown>)
      : (import(url) as Promise<Record<string, unknown>>);
    modules.set(url, exports);
    exports.then(
      () => versions.imported(),
      () => {
        versions.imported();
        modules.delete(url);
        versions.failed(placement.version);
      },
    );
  }
  let loaded: Record<string, unknown>;
  try {
    loaded = await exports;
  } catch (err) {
    throw versions.importError(err);
  }
  // A file that CommonJS evaluated (a .cts, or a .ts of a project without "type": "module",
  // which tsx hands to its require hook even when imported) registered its tasks under its
  // plain URL, whatever version URL it was imported under: the require cache holds it by file
  // name, one version per thread.
  return { url: require.cache[req.file] ? pathToFileURL(req.file).href : url, exports: loaded };
}

async function runJob(req: RunRequest): Promise<void> {
  const jobId = req.context.id;
  const state: JobState = {
    controller: new AbortController(),
    calls: new Set<number>(),
    end(outcome) {
      if (jobs.get(jobId) !== state) return;
      jobs.delete(jobId);
      capture.flush(jobId);
      post({ type: 'finish', jobId, outcome, at: Date.now() });
    },
  };
  jobs.set(jobId, state);
  const scope = makeScope(req, state);
  let outcome: Outcome;
  let refused = false;
  await runtime.als.run(scope, () =>
    inJobSpan(req.trace, async () => {
      try {
        const loaded = await load(req);
        if (!loaded) {
          refused = true;
          return;
        }
        const { url, exports } = loaded;
        let fn: (...args: unknown[]) => unknown;
        if (req.kind === 'script') {
          // main, or the export a task call by entrypoint names (checked by name in run-request.ts).
          if (typeof exports[req.entrypoint] !== 'function')
            throw new NoMainError(req.context.script, Object.keys(exports));
          fn = exports[req.entrypoint] as typeof fn;
        } else {
          fn = findTask(url, exports, req.context.script, req.entrypoint).fn as typeof fn;
        }
        const args = req.args.map((a) => (a === undefined ? undefined : decode(a)));
        const result = encode(await fn(...args), 'result');
        checkValueSize(
          result,
          `The result of job ${jobId} (${req.kind === 'task' ? `task ${req.entrypoint}` : req.context.script})`,
        );
        outcome = { status: 'success', result };
      } catch (err) {
        outcome = { status: 'failure', error: cutErrorRecord(toErrorRecord(err)) };
      }
    }),
  );
  if (refused) {
    // The host places it on another thread: this one reports no end for it.
    if (jobs.get(jobId) === state) jobs.delete(jobId);
    return;
  }
  state.end(outcome!);
}

function makeScope(req: RunRequest, state: JobState): JobScope {
  const parentId = req.context.id;
  // Call keys: a task's name (or '@step:<name>', '@sleep', '@wait:<event>', '@script:<path>', '@flow:<path>',
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
    const promise = new Promise<Extract<HostMessage, { type: 'stepDone' }>>((resolve) =>
      pendingSteps.set(callId, resolve),
    );
    post({ type: 'step', callId, parentId, step });
    return promise.then((reply) => {
      if (reply.error)
        throw Object.assign(new Error(reply.error.message), { name: reply.error.name, code: reply.error.code });
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
      const keyed = taskKeys
        .then(() => task.naming)
        .then(({ name, moduleUrl }) => ({ name, moduleUrl, callKey: nextKey(name) }));
      taskKeys = keyed.then(
        () => undefined,
        () => undefined,
      );
      return keyed.then(({ name, moduleUrl, callKey }) =>
        call({
          kind: 'task',
          // The defining module's file (its URL may be tsx's data: URL, see task/module-identity.ts).
          scriptPath: scriptPathOf(root, moduleFile(moduleUrl)),
          name,
          tag: options.tag ?? DEFAULT_TAG,
          args: task.args,
          callKey,
          ...(options.timeout !== undefined && { timeout: options.timeout }),
          ...(options.retry !== undefined && { retry: options.retry }),
          ...(task.flowControl && { flowControl: withTaskName(task.flowControl, name) }),
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
      checkValueSize(result, `The result of step("${name}") in job ${parentId}`);
      const stored = await askStep({
        op: 'put',
        callKey,
        name,
        scriptPath: req.context.script,
        result,
        startedAt,
        at: Date.now(),
      });
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
        ...(path.flowControl && { flowControl: path.flowControl }),
        ...(path.detach && { detach: true }),
      });
    },
    waitEvent({ name, timeout, args }): Promise<ChildOutcome> {
      return call({
        kind: 'wait',
        scriptPath: req.context.script,
        name,
        tag: req.context.tag,
        args,
        callKey: nextKey(`@wait:${name}`),
        ...(timeout !== undefined && { seconds: timeout }),
      });
    },
    resumeUrls(resumeId: string): Promise<ChildOutcome> {
      return track((callId) =>
        post({ type: 'eventOp', callId, parentId, op: 'resumeUrls', jobId: parentId, resumeId }),
      );
    },
    sendEvent(jobId: string, name: string, payload: Json): Promise<ChildOutcome> {
      return track((callId) => post({ type: 'eventOp', callId, parentId, op: 'send', jobId, name, payload }));
    },
    jobOp(op, jobId, reason): Promise<ChildOutcome> {
      return track((callId) =>
        post({ type: 'jobOp', callId, parentId, op, jobId, ...(reason !== undefined && { reason }) }),
      );
    },
    setFlowStatus(status): void {
      post({ type: 'flowStatus', jobId: parentId, status });
    },
    setProgress(percent, message): void {
      post({ type: 'progress', jobId: parentId, percent, message });
    },
  };
}

function stoppedOutcome(signal: AbortSignal): ChildOutcome {
  const reason = signal.reason as { name?: string; message?: string; code?: string } | undefined;
  return {
    status: 'canceled',
    error: {
      name: reason?.name ?? 'CanceledError',
      message: reason?.message ?? 'the job was stopped',
      code: reason?.code,
    },
    jobId: '(not submitted)',
    tag: '',
    attempt: 0,
    maxAttempts: 0,
  };
}

/** Scripts that only CommonJS can load as tsx means them to be (see load). */
function isCommonJsOnly(file: string): boolean {
  const ext = extname(file);
  return ext === '.cts' || ext === '.cjs';
}
