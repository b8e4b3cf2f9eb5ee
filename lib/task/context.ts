import { NotInJobError } from '../errors.js';
import type { JobContext } from '../types.js';
import { runtime, type JobScope } from './runtime.js';

/** The running job: its context, and a signal that aborts when it is canceled or times out. */
export interface CurrentJob extends JobContext {
  /** Aborts when the job is canceled or runs past its timeout; pass it to fetch() and the like. */
  signal: AbortSignal;
}

/** The job this code runs in. Throws outside a job; see `tryCurrentJob`. */
export function currentJob(): CurrentJob {
  const scope = runtime.als.getStore();
  if (!scope) {
    throw new NotInJobError(
      'currentJob() was called outside a job. It works inside a script run by millrace or a task it calls; ' +
        'use tryCurrentJob() where code may also run outside one.',
    );
  }
  return withSignal(scope);
}

/** The job this code runs in, or undefined outside a job. */
export function tryCurrentJob(): CurrentJob | undefined {
  const scope = runtime.als.getStore();
  return scope ? withSignal(scope) : undefined;
}

/** The context as plain data, with the signal beside it, not enumerable: the context can be
 *  logged, spread or returned as a job's result and stays plain data. */
function withSignal(scope: JobScope): CurrentJob {
  return Object.defineProperty({ ...scope.context }, 'signal', {
    value: scope.signal,
    enumerable: false,
  }) as CurrentJob;
}
