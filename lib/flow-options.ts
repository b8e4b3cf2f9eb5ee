import { describeValue } from './describe.js';
import { TaskDefinitionError } from './errors.js';
import type { FlowControl, TaskKey, TaskOptions } from './types.js';

/**
 * The flow-control options of `task()` (concurrency, rateLimit, priority, cacheTtl): their
 * checks when the task is defined, and the FlowControl a call carries, its keys resolved from
 * the call's args. The store enforces them (store/flow-control.ts); this file only checks.
 */

/** Every option `task()` knows: any other key is a TaskDefinitionError, not silently ignored. */
export const TASK_OPTION_KEYS: readonly (keyof TaskOptions)[] = [
  'tag',
  'name',
  'timeout',
  'retry',
  'concurrency',
  'rateLimit',
  'priority',
  'cacheTtl',
];

/** Checks the flow-control options at definition time; each error names the option. */
export function checkFlowOptions(options: TaskOptions): void {
  for (const key of Object.keys(options)) {
    if (!(TASK_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new TaskDefinitionError(
        `task options.${key} is not an option of task(); expected one of ${TASK_OPTION_KEYS.join(', ')}`,
      );
    }
  }
  const { concurrency, rateLimit, priority, cacheTtl } = options;
  if (concurrency !== undefined) {
    if (typeof concurrency !== 'object' || concurrency === null) {
      throw new TaskDefinitionError(
        `task options.concurrency must be an object { limit, key?, window? }, got ${describeValue(concurrency)}`,
      );
    }
    unknownKeys('concurrency', concurrency, ['limit', 'key', 'window']);
    positiveInteger('concurrency.limit', concurrency.limit);
    if (concurrency.window !== undefined) positiveSeconds('concurrency.window', concurrency.window);
    checkKey('concurrency.key', concurrency.key);
  }
  if (rateLimit !== undefined) {
    if (typeof rateLimit !== 'object' || rateLimit === null) {
      throw new TaskDefinitionError(
        `task options.rateLimit must be an object { limit, per, key? }, got ${describeValue(rateLimit)}`,
      );
    }
    unknownKeys('rateLimit', rateLimit, ['limit', 'per', 'key']);
    positiveInteger('rateLimit.limit', rateLimit.limit);
    positiveSeconds('rateLimit.per', rateLimit.per);
    checkKey('rateLimit.key', rateLimit.key);
  }
  if (priority !== undefined && !(Number.isInteger(priority) && Math.abs(priority) <= 1_000_000)) {
    throw new TaskDefinitionError(
      `task options.priority must be an integer between -1000000 and 1000000, got ${describeValue(priority)}`,
    );
  }
  if (cacheTtl !== undefined && !(typeof cacheTtl === 'number' && cacheTtl >= 0 && Number.isFinite(cacheTtl))) {
    throw new TaskDefinitionError(
      `task options.cacheTtl must be a number of seconds ≥ 0, got ${describeValue(cacheTtl)}`,
    );
  }
}

/**
 * The FlowControl of one call. A key function runs here, in the caller, with the call's args:
 * if it throws or returns something else than a non-empty string, this call fails (and
 * nothing else) with a TaskDefinitionError naming the option. Undefined when the task has none.
 */
export function callFlowControl(
  options: TaskOptions,
  args: readonly unknown[],
  taskName: string,
): FlowControl | undefined {
  // taskName names the task in messages; a key left out is '' here, the task's resolved name
  // once the executor knows it (withTaskName).
  const { concurrency, rateLimit, priority, cacheTtl } = options;
  if (concurrency === undefined && rateLimit === undefined && priority === undefined && cacheTtl === undefined)
    return undefined;
  return {
    ...(priority !== undefined && priority !== 0 && { priority }),
    ...(concurrency !== undefined && {
      concurrency: {
        key: resolveKey('concurrency.key', concurrency.key, args, taskName),
        limit: concurrency.limit,
        ...(concurrency.window !== undefined && { windowMs: Math.round(concurrency.window * 1000) }),
      },
    }),
    ...(rateLimit !== undefined && {
      rateLimit: {
        key: resolveKey('rateLimit.key', rateLimit.key, args, taskName),
        limit: rateLimit.limit,
        perMs: Math.round(rateLimit.per * 1000),
      },
    }),
    ...(cacheTtl !== undefined && { cacheTtlMs: Math.round(cacheTtl * 1000) }),
  };
}

/** The call's FlowControl with the keys left out filled in with the task's resolved name. */
export function withTaskName(flow: FlowControl | undefined, name: string): FlowControl | undefined {
  if (!flow) return undefined;
  return {
    ...flow,
    ...(flow.concurrency && { concurrency: { ...flow.concurrency, key: flow.concurrency.key || name } }),
    ...(flow.rateLimit && { rateLimit: { ...flow.rateLimit, key: flow.rateLimit.key || name } }),
  };
}

function resolveKey(option: string, key: TaskKey | undefined, args: readonly unknown[], taskName: string): string {
  if (key === undefined) return '';
  if (typeof key === 'string') return key;
  let value: unknown;
  try {
    value = (key as (...a: unknown[]) => unknown)(...args);
  } catch (err) {
    throw new TaskDefinitionError(
      `task ${taskName}: options.${option} threw for this call: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new TaskDefinitionError(
      `task ${taskName}: options.${option} must return a non-empty string, got ${describeValue(value)}`,
    );
  }
  return value;
}

/**
 * A key is a non-empty string or a function. A function that takes no arguments is constant,
 * so it is called now: one that throws or returns a non-string fails the definition. One that
 * reads the args can only be checked per call (`callFlowControl`).
 */
function checkKey(option: string, key: unknown): void {
  if (key === undefined) return;
  if (typeof key === 'string') {
    if (key === '')
      throw new TaskDefinitionError(`task options.${option} must be a non-empty string or a function, got ""`);
    return;
  }
  if (typeof key !== 'function') {
    throw new TaskDefinitionError(
      `task options.${option} must be a string or a function of the call's args returning one, got ${describeValue(key)}`,
    );
  }
  if (key.length > 0) return;
  let value: unknown;
  try {
    value = (key as () => unknown)();
  } catch (err) {
    throw new TaskDefinitionError(
      `task options.${option}: the key function threw: ${(err as Error)?.message ?? String(err)}`,
      { cause: err },
    );
  }
  if (typeof value !== 'string' || value === '') {
    throw new TaskDefinitionError(
      `task options.${option}: the key function must return a non-empty string, got ${describeValue(value)}`,
    );
  }
}

function positiveInteger(option: string, value: unknown): void {
  if (!(typeof value === 'number' && Number.isInteger(value) && value > 0)) {
    throw new TaskDefinitionError(`task options.${option} must be a positive integer, got ${describeValue(value)}`);
  }
}

function positiveSeconds(option: string, value: unknown): void {
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
    throw new TaskDefinitionError(
      `task options.${option} must be a positive number of seconds, got ${describeValue(value)}`,
    );
  }
}

function unknownKeys(option: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new TaskDefinitionError(`task options.${option}.${key} is not an option; expected ${known.join(', ')}`);
  }
}
