import { CanceledError, TaskDefinitionError } from '../errors.js';
import { fromErrorRecord } from '../error-record.js';
import { roundTrip } from '../serialize.js';
import { delay } from '../timers.js';
import { runtime } from './runtime.js';

/**
 * Runs `fn` once and records its result as a step of the job; when the job runs again (its
 * worker died, it is retried) the recorded result comes back and `fn` does not run. Use it for
 * anything a job reads that could differ between runs: the time, a random number, a read of
 * outside state. A step that throws records nothing: the next run of the job tries it again.
 * Outside a job, `fn` just runs (after the same serialisation round trip as a task's result).
 *
 * ```ts
 * const startedAt = await step('startedAt', () => Date.now());
 * ```
 */
export async function step<T>(name: string, fn: () => T | Promise<T>): Promise<Awaited<T>> {
  if (typeof name !== 'string' || name.trim() === '') {
    throw new TaskDefinitionError(
      `step(name, fn): name must be a non-empty string, got ${JSON.stringify(name) ?? String(name)}`,
    );
  }
  if (typeof fn !== 'function')
    throw new TaskDefinitionError(`step("${name}", fn): fn must be a function, got ${typeof fn}`);
  const scope = runtime.als.getStore();
  if (!scope) return roundTrip(await fn(), 'result') as Awaited<T>;
  return (await scope.step(name, fn)) as Awaited<T>;
}

/**
 * Waits `seconds` inside a job, durably: the wait is a child job due when it ends, so the job
 * holds no executor slot meanwhile, and a job that runs again (its worker died) waits only
 * what is left. Outside a job it is a plain timer.
 */
export async function sleep(seconds: number): Promise<void> {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
    throw new TaskDefinitionError(
      `sleep(seconds): expected a finite number ≥ 0, got ${typeof seconds === 'number' ? seconds : typeof seconds}`,
    );
  }
  const scope = runtime.als.getStore();
  if (!scope) {
    await delay(seconds * 1000);
    return;
  }
  const outcome = await scope.sleep(seconds);
  if (outcome.status === 'canceled') throw new CanceledError(outcome.jobId, outcome.error.message);
  if (outcome.status === 'failure') throw fromErrorRecord(outcome.error);
}
