import { FlowExpressionError } from '../errors.js';
import { toErrorRecord } from '../error-record.js';
import type { ErrorRecord } from '../types.js';

// How a module's end travels up the interpreter's nested loops and branches: a failure names the
// innermost module that failed; a Stop (stop_after_if) is a signal, not a failure.

/** A module failed: the id of the module that failed (the innermost one) and its error. */
export class ModuleFailure extends Error {
  constructor(
    readonly moduleId: string,
    readonly error: ErrorRecord,
    readonly jobId: string | undefined,
  ) {
    super(`Module "${moduleId}"${jobId ? ` (job ${jobId})` : ''} failed: ${error.name}: ${error.message}`);
  }
}

/** stop_after_if held: the flow ends here with this result. */
export class Stop {
  constructor(readonly value: unknown) {}
}

/** Any error thrown while a module ran, as the failure of that module (or of the module an expression names). */
export function asModuleFailure(err: unknown, moduleId: string): ModuleFailure {
  if (err instanceof ModuleFailure) return err;
  const record = toErrorRecord(err);
  const id = err instanceof FlowExpressionError ? err.moduleId : moduleId;
  return new ModuleFailure(id, record, undefined);
}

/** What a skipped failure leaves in a loop's or branchall's results. */
export function failureValue(failure: ModuleFailure): unknown {
  return { error: { name: failure.error.name, message: failure.error.message, step_id: failure.moduleId } };
}

/** Waits for every promise; then fails with the first failure, in order, if any. */
export async function settleAll(promises: Promise<unknown>[]): Promise<unknown[]> {
  const settled = await Promise.allSettled(promises);
  const stop = settled.find((s) => s.status === 'rejected' && s.reason instanceof Stop);
  if (stop) throw (stop as PromiseRejectedResult).reason;
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
}
