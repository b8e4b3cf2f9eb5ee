import { NotInJobError } from '../errors.js';
import type { JobContext } from '../types.js';
import { runtime } from './runtime.js';

/** The job this code runs in. Throws outside a job; see `tryCurrentJob`. */
export function currentJob(): JobContext {
  const scope = runtime.als.getStore();
  if (!scope) {
    throw new NotInJobError(
      'currentJob() was called outside a job. It works inside a script run by millrace or a task it calls; ' +
        'use tryCurrentJob() where code may also run outside one.',
    );
  }
  return { ...scope.context };
}

/** The job this code runs in, or undefined outside a job. */
export function tryCurrentJob(): JobContext | undefined {
  const scope = runtime.als.getStore();
  return scope ? { ...scope.context } : undefined;
}
