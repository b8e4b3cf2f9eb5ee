/**
 * The entry point of an executor thread. It imports scripts once and keeps them warm, runs
 * jobs in their async context, captures their console output, and turns task calls into
 * `call` messages for the host. It can run many jobs at once; the host decides how many
 * of them may be working (invariant 3).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { NoMainError, toErrorRecord } from '../errors.js';
import { scriptPathOf } from '../loader/paths.js';
import { decode, encode } from '../serialize.js';
import { findTask } from '../task/registry.js';
import { runtime, type ChildOutcome, type JobScope, type PathCall, type TaskCall } from '../task/runtime.js';
import { DEFAULT_TAG, type Outcome } from '../types.js';
import { captureConsole } from './console-capture.js';
import type { HostMessage, RunRequest, ThreadData, ThreadMessage } from './protocol.js';

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

const modules = new Map<string, Promise<Record<string, unknown>>>();
/** The URL each file was last imported under; a changed file is imported anew under a new one. */
const loadedHash = new Map<string, string>();
const pendingCalls = new Map<number, (outcome: ChildOutcome) => void>();
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
  }
});

post({ type: 'ready' });

function load(file: string, hash: string): { url: string; exports: Promise<Record<string, unknown>> } {
  const previous = loadedHash.get(file);
  const base = pathToFileURL(file).href;
  const url = previous === undefined || previous === hash ? base : `${base}?v=${hash.slice(0, 16)}`;
  loadedHash.set(file, hash);
  let exports = modules.get(url);
  if (!exports) {
    exports = import(url) as Promise<Record<string, unknown>>;
    modules.set(url, exports);
    exports.catch(() => modules.delete(url));
  }
  return { url, exports };
}

async function runJob(req: RunRequest): Promise<void> {
  const scope = makeScope(req);
  let outcome: Outcome;
  await runtime.als.run(scope, async () => {
    post({ type: 'started', jobId: req.context.id, at: Date.now() });
    try {
      const { url, exports: loading } = load(req.file, req.hash);
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
  capture.flush(req.context.id);
  post({ type: 'done', jobId: req.context.id, outcome: outcome!, at: Date.now() });
}

function makeScope(req: RunRequest): JobScope {
  const occurrences = new Map<string, number>();
  return {
    context: req.context,
    callTask(call: TaskCall): Promise<ChildOutcome> {
      const n = occurrences.get(call.name) ?? 0;
      occurrences.set(call.name, n + 1);
      const callId = nextCallId++;
      const { options } = call.def;
      const promise = new Promise<ChildOutcome>((resolve) => pendingCalls.set(callId, resolve));
      post({
        type: 'call',
        callId,
        parentId: req.context.id,
        call: {
          scriptPath: scriptPathOf(root, call.moduleUrl),
          name: call.name,
          tag: options.tag ?? DEFAULT_TAG,
          args: call.args,
          callKey: `${call.name}:${n}`,
          ...(options.timeout !== undefined && { timeout: options.timeout }),
          ...(options.retry !== undefined && { retry: options.retry }),
        },
      });
      return promise;
    },
    callPath(call: PathCall): Promise<ChildOutcome> {
      const n = occurrences.get(call.key) ?? 0;
      occurrences.set(call.key, n + 1);
      const callId = nextCallId++;
      const promise = new Promise<ChildOutcome>((resolve) => pendingCalls.set(callId, resolve));
      post({
        type: 'call',
        callId,
        parentId: req.context.id,
        call: {
          kind: call.kind,
          scriptPath: call.path,
          name: call.name ?? call.path,
          tag: call.tag ?? DEFAULT_TAG,
          args: call.args,
          callKey: `${call.key}:${n}`,
          ...(call.timeout !== undefined && { timeout: call.timeout }),
          ...(call.retry !== undefined && { retry: call.retry }),
          ...(call.detach && { detach: true }),
        },
      });
      return promise;
    },
    jobOp(op, jobId, reason): Promise<ChildOutcome> {
      const callId = nextCallId++;
      const promise = new Promise<ChildOutcome>((resolve) => pendingCalls.set(callId, resolve));
      const about = { op, jobId, ...(reason !== undefined && { reason }) };
      post({ type: 'call', callId, parentId: req.context.id, call: { scriptPath: '', name: op, tag: DEFAULT_TAG, args: [], callKey: '', about } });
      return promise;
    },
    setFlowStatus(status): void {
      post({ type: 'flowStatus', jobId: req.context.id, status });
    },
  };
}
