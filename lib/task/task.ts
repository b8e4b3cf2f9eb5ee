import { findSourceMap } from 'node:module';
import { pathToFileURL } from 'node:url';
import { CanceledError, NonDeterminismError, TaskDefinitionError, TaskError } from '../errors.js';
import { fromErrorRecord } from '../error-record.js';
import { describeValue } from '../describe.js';
import { checkValueSize } from '../limits.js';
import { decode, encodeArgs, roundTrip } from '../serialize.js';
import type { TaskOptions } from '../types.js';
import { isTsxDataModule, moduleFile, moduleUrlOfFrame } from './module-identity.js';
import { callFlowControl, checkFlowOptions } from '../flow-options.js';
import { resolveTaskName } from './registry.js';
import { runtime, type TaskDef } from './runtime.js';

/**
 * A task: calling it inside a job submits a child job and resolves with the child's result;
 * outside a job it runs inline, after a serialisation round trip (invariant 2).
 * The parameters are fn's own; the result is fn's result, awaited.
 */
export type Task<A extends unknown[], R> = (...args: A) => Promise<Awaited<R>>;

/**
 * Wraps `fn` as a task. The second argument is a tag, or options.
 *
 * ```ts
 * export const heavy = task(async function heavy(n: number) { ... }, 'cpu');
 * ```
 */
// The options' `A` is a conditional type so that it is not an inference site: A comes from fn
// alone, and a key function's parameters are typed by it (not the other way round).
export function task<A extends unknown[], R>(
  fn: (...args: A) => R,
  tagOrOptions?: string | TaskOptions<A extends unknown[] ? A : never>,
): Task<A, R> {
  if (typeof fn !== 'function') {
    throw new TaskDefinitionError(`task() expects a function as its first argument, got ${describeValue(fn)}`);
  }
  // Stored without the parameters' type: a key function is called with the call's args only.
  const options = normaliseOptions(tagOrOptions as string | TaskOptions | undefined);
  const { moduleUrl, definedAt } = callerLocation();
  const def: TaskDef = { fn: fn as TaskDef['fn'], options, moduleUrl, definedAt };

  const proxy = async (...args: A): Promise<Awaited<R>> => {
    const scope = runtime.als.getStore();
    if (!scope) return runInline(fn, args);
    // A key function runs on the caller's args: one that fails fails this call only, before it is submitted.
    const flowControl = callFlowControl(options, args, options.name ?? fn.name ?? '(anonymous)');
    const encoded = encodeArgs(args);
    // Checked here, in the caller: too large args fail this call, not the request carrying it.
    checkValueSize(encoded, `The args of a call to task ${options.name ?? fn.name ?? '(anonymous)'}`);
    // Handed over unresolved and at once: the call's key follows the order of the calls.
    const naming = resolveTaskName(def);
    const outcome = await scope.callTask({ def, naming, args: encoded, ...(flowControl && { flowControl }) });
    const { name } = await naming;
    switch (outcome.status) {
      case 'success':
        return decode(outcome.result) as Awaited<R>;
      case 'canceled':
        throw new CanceledError(outcome.jobId, outcome.error.message);
      case 'failure':
        // Not the child's failure but the caller's own: it made a different call at a recorded key.
        if (outcome.error.code === NonDeterminismError.code) throw fromErrorRecord(outcome.error);
        throw new TaskError({
          jobId: outcome.jobId,
          taskName: name,
          tag: outcome.tag,
          attempt: outcome.attempt,
          maxAttempts: outcome.maxAttempts,
          error: outcome.error,
        });
    }
  };
  Object.defineProperty(proxy, 'name', { value: options.name ?? fn.name });
  runtime.defs.set(proxy, def);
  if (moduleUrl) {
    const list = runtime.byModule.get(moduleUrl) ?? [];
    list.push(def);
    runtime.byModule.set(moduleUrl, list);
    // A module evaluated again (a changed script) starts a fresh set of names.
    runtime.resolved.delete(moduleUrl);
  }
  return proxy;
}

async function runInline<A extends unknown[], R>(fn: (...args: A) => R, args: A): Promise<Awaited<R>> {
  const copied = roundTrip(args, 'args') as A;
  const result = await fn(...copied);
  return roundTrip(result, 'result');
}

function normaliseOptions(tagOrOptions: string | TaskOptions | undefined): TaskOptions {
  if (tagOrOptions === undefined) return {};
  if (typeof tagOrOptions === 'string') {
    if (tagOrOptions.trim() === '') throw new TaskDefinitionError('task(fn, tag): the tag is an empty string');
    return { tag: tagOrOptions };
  }
  if (typeof tagOrOptions !== 'object' || tagOrOptions === null) {
    throw new TaskDefinitionError(
      `task(fn, options): expected a tag string or an options object, got ${describeValue(tagOrOptions)}`,
    );
  }
  const { tag, name, timeout, retry } = tagOrOptions;
  if (tag !== undefined && (typeof tag !== 'string' || tag.trim() === '')) {
    throw new TaskDefinitionError(`task options.tag must be a non-empty string, got ${describeValue(tag)}`);
  }
  if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z_$][\w$.-]*$/.test(name))) {
    throw new TaskDefinitionError(`task options.name must be an identifier-like string, got ${describeValue(name)}`);
  }
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0)) {
    throw new TaskDefinitionError(
      `task options.timeout must be a positive number of seconds, got ${describeValue(timeout)}`,
    );
  }
  if (retry !== undefined) {
    if (typeof retry !== 'object' || retry === null || !Number.isInteger(retry.attempts) || retry.attempts < 1) {
      throw new TaskDefinitionError(
        `task options.retry.attempts must be an integer ≥ 1, got ${describeValue(retry?.attempts)}`,
      );
    }
    for (const key of ['delay', 'multiplier', 'maxDelay'] as const) {
      const v = retry[key];
      if (v !== undefined && !(typeof v === 'number' && v >= 0 && Number.isFinite(v))) {
        throw new TaskDefinitionError(`task options.retry.${key} must be a number ≥ 0, got ${describeValue(v)}`);
      }
    }
  }
  checkFlowOptions(tagOrOptions);
  return { ...tagOrOptions };
}

/** The module that called task(), from a structured stack trace. */
function callerLocation(): { moduleUrl: string | undefined; definedAt: string } {
  const holder: { stack?: NodeJS.CallSite[] } = {};
  // eslint-disable-next-line @typescript-eslint/unbound-method -- V8's hook, put back as it was in the finally below
  const previous = Error.prepareStackTrace;
  Error.prepareStackTrace = (_err, frames) => frames;
  try {
    Error.captureStackTrace(holder, task);
    const frame = holder.stack?.[0];
    const file = frame?.getFileName() ?? undefined;
    if (!file) return { moduleUrl: undefined, definedAt: '<unknown>' };
    // The module instance, as its loader named it (a file: URL, a path, or tsx's data: URL for a
    // CommonJS module an ES module imported): see module-identity.ts.
    const moduleUrl = moduleUrlOfFrame(file);
    const where = moduleUrl ? pathToFileURL(moduleFile(moduleUrl)).href : file;
    const line = sourceLine(file, frame!);
    return { moduleUrl, definedAt: line === undefined ? where : `${where}:${line}` };
  } finally {
    Error.prepareStackTrace = previous;
  }
}

/**
 * The line in the original source (the loader may have transpiled it), 1-based. Undefined for
 * a module compiled under tsx's data: URL that Node keeps no source map of (Node 20): its
 * lines are the compiled code's, so none is better than a wrong one.
 */
function sourceLine(file: string, frame: NodeJS.CallSite): number | string | undefined {
  const line = frame.getLineNumber();
  const column = frame.getColumnNumber();
  if (line === null || column === null) return '?';
  const entry = findSourceMap(file)?.findEntry(line - 1, column - 1) as { originalLine?: number } | undefined;
  if (entry?.originalLine !== undefined) return entry.originalLine + 1;
  return isTsxDataModule(file) ? undefined : line;
}
