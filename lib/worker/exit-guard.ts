import { ProcessExitError } from '../errors.js';

export interface ExitGuardOptions {
  /** The id of the job in whose async context the code runs, if any. */
  currentJobId(): string | undefined;
  /** A job called process.exit: fail it (its code is then unwound by the error thrown). */
  onJobExit(jobId: string, error: ProcessExitError): void;
}

/**
 * In an executor thread, `process.exit` would end the thread and with it every job it runs.
 * Called in a job's async context, it fails that job alone: `onJobExit` records the failure,
 * and the call throws, so no code after it runs (process.exit never returns). Called outside
 * any job (the thread's own code), it exits as before.
 */
export function guardProcessExit(options: ExitGuardOptions): void {
  const exit = process.exit.bind(process);
  process.exit = function guardedExit(code?: number | string | null): never {
    const jobId = options.currentJobId();
    if (jobId === undefined) return exit(code);
    const error = new ProcessExitError(jobId, code);
    options.onJobExit(jobId, error);
    throw error;
  } as typeof process.exit;
}
