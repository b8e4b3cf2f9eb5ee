import type { ErrorRecord } from './types.js';

/**
 * One base class with a stable `code`; a subclass per failure. Messages carry the facts and
 * the fix.
 *
 * A user's script imports `millrace` through its own loader, so the same class can exist
 * twice in one process (the CLI's copy and the script's copy). `instanceof` therefore checks
 * a brand and the code, not the prototype chain.
 */
const BRAND = Symbol.for('millrace.error');

export class MillraceError extends Error {
  static readonly code: string = 'MILLRACE_ERROR';
  readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = (new.target as typeof MillraceError).code;
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null || !(BRAND in value)) return false;
    if (this.code === MillraceError.code) return true;
    return (value as unknown as { code?: string }).code === this.code;
  }
}

/** A task (or any child job) failed; invariant 7. Thrown at the caller's `await`. */
export class TaskError extends MillraceError {
  static override readonly code = 'TASK_FAILED';
  /** The failed child job. */
  readonly jobId: string;
  readonly taskName: string;
  readonly tag: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  /** The child's error: its name, message and stack (the stack points at the child's source). */
  readonly errorName: string;
  readonly errorMessage: string;
  readonly errorStack: string | undefined;

  constructor(info: {
    jobId: string;
    taskName: string;
    tag: string;
    attempt: number;
    maxAttempts: number;
    error: ErrorRecord;
  }) {
    super(
      `Job ${info.jobId} (${info.taskName}, tag ${info.tag}) failed on attempt ${info.attempt} of ${info.maxAttempts}: ` +
        `${info.error.name}: ${info.error.message}`,
    );
    this.jobId = info.jobId;
    this.taskName = info.taskName;
    this.tag = info.tag;
    this.attempt = info.attempt;
    this.maxAttempts = info.maxAttempts;
    this.errorName = info.error.name;
    this.errorMessage = info.error.message;
    this.errorStack = info.error.stack;
    // The caller's stack says where the call was awaited; the child's says what went wrong.
    if (info.error.stack) this.stack = `${this.stack}\nCaused by ${indentCause(info.error.stack)}`;
  }
}

/** A value that cannot cross a job boundary (invariant 4). `path` names where, e.g. `args[1].callback`. */
export class SerializationError extends MillraceError {
  static override readonly code = 'SERIALIZATION';
  readonly path: string;
  constructor(path: string, problem: string) {
    super(
      `${path} ${problem}. Task args and results must be JSON values, Date, bigint, Map, Set, ` +
        `Uint8Array, undefined, NaN/Infinity or Error.`,
    );
    this.path = path;
  }
}

/** `task()` was given something it cannot identify: no name, or a name used twice. */
export class TaskDefinitionError extends MillraceError {
  static override readonly code = 'TASK_DEFINITION';
}

/** `currentJob()` outside a job, and the like. */
export class NotInJobError extends MillraceError {
  static override readonly code = 'NOT_IN_JOB';
}

export class UnknownScriptError extends MillraceError {
  static override readonly code = 'UNKNOWN_SCRIPT';
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`Unknown script "${path}": ${detail}`);
    this.path = path;
  }
}

export class NoMainError extends MillraceError {
  static override readonly code = 'NO_MAIN';
  constructor(path: string, exportsSeen: string[]) {
    super(
      `Script "${path}" has no exported function main. ` +
        (exportsSeen.length ? `Its exports are: ${exportsSeen.join(', ')}. ` : 'It exports nothing. ') +
        'Add `export async function main(...) { ... }`.',
    );
  }
}

/** A call by name (Windmill's v1 task call, `workflow_as_code/{job}/{entrypoint}`) of a function the script does not export. */
export class UnknownEntrypointError extends MillraceError {
  static override readonly code = 'UNKNOWN_ENTRYPOINT';
  constructor(path: string, entrypoint: string, exportsSeen: string[]) {
    super(
      `Script "${path}" exports no function "${entrypoint}". ` +
        (exportsSeen.length ? `Its exports are: ${exportsSeen.join(', ')}. ` : 'It exports nothing. ') +
        'Call one of its exported functions by name.',
    );
  }
}

/** A script that does not parse: where, and what the parser said. Raised before any job exists. */
export class ScriptSyntaxError extends MillraceError {
  static override readonly code = 'SCRIPT_SYNTAX';
  readonly file: string;
  readonly line: number;
  constructor(info: { file: string; line: number; column: number; problem: string; more: number }) {
    super(
      `Script ${info.file}:${info.line}:${info.column} has a syntax error: ${info.problem}` +
        (info.more > 0 ? ` (and ${info.more} more)` : '') +
        '. Fix the script and submit it again.',
    );
    this.file = info.file;
    this.line = info.line;
  }
}

export class UnknownTaskError extends MillraceError {
  static override readonly code = 'UNKNOWN_TASK';
  constructor(script: string, name: string, known: string[]) {
    super(
      `Script "${script}" has no task named "${name}"` +
        (known.length ? ` (its tasks are: ${known.join(', ')})` : ' (it defines no tasks)') +
        '. Was it renamed or removed since the job was submitted, or is it created inside a function? ' +
        'A worker finds tasks by importing their module, so define them at its top level.',
    );
  }
}

/** Args that do not fit `main`'s signature. Raised before any job exists. */
export class ArgsError extends MillraceError {
  static override readonly code = 'BAD_ARGS';
  readonly problems: string[];
  constructor(script: string, problems: string[]) {
    super(`Bad args for ${script}: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

export class UnknownJobError extends MillraceError {
  static override readonly code = 'UNKNOWN_JOB';
  readonly jobId: string;
  constructor(id: string, detail?: string) {
    super(detail ? `Job id "${id}" is ambiguous: ${detail}` : `No job with id "${id}"`);
    this.jobId = id;
  }
}

/** The caller of a canceled job gets this. */
export class CanceledError extends MillraceError {
  static override readonly code = 'CANCELED';
  readonly jobId: string;
  readonly reason: string;
  constructor(jobId: string, reason: string) {
    super(`Job ${jobId} was canceled: ${reason}`);
    this.jobId = jobId;
    this.reason = reason;
  }
}

/** Thrown by a task to skip its remaining attempts. */
export class NonRetryableError extends MillraceError {
  static override readonly code = 'NON_RETRYABLE';
}

/** A job ran past its timeout. */
export class TimeoutError extends MillraceError {
  static override readonly code = 'TIMEOUT';
}

/** A re-run parent made a different call at a key where a recorded child exists. */
export class NonDeterminismError extends MillraceError {
  static override readonly code = 'NON_DETERMINISM';
}

/** A worker refused a job because its copy of the script is not the one submitted. */
export class ScriptHashMismatchError extends MillraceError {
  static override readonly code = 'SCRIPT_HASH_MISMATCH';
}

/**
 * A value (a job's args or result, a flow module's result) or a request larger than millrace
 * carries. Raised where the value is made, so only the job or call that made it fails.
 */
export class TooLargeError extends MillraceError {
  static override readonly code = 'TOO_LARGE';
  /** Its size and the limit, in bytes (of its JSON encoding). */
  readonly size: number;
  readonly limit: number;
  constructor(what: string, size: number, limit: number) {
    super(
      `${what} is ${size} bytes as JSON, over the limit of ${limit} bytes. ` +
        'Keep large data outside the job (a file, a bucket, a database) and pass a reference to it instead.',
    );
    this.size = size;
    this.limit = limit;
  }
}

/** A job called `process.exit`: that job fails, not the executor thread it shares with others. */
export class ProcessExitError extends MillraceError {
  static override readonly code = 'PROCESS_EXIT';
  readonly exitCode: number | string | null | undefined;
  constructor(jobId: string, exitCode: number | string | null | undefined) {
    super(
      `Job ${jobId} called process.exit(${exitCode ?? ''}). A job runs on an executor thread shared with other jobs, so it ` +
        'cannot end the process: this job fails instead. Throw an error (or return) to end the job.',
    );
    this.exitCode = exitCode;
  }
}

/** A lease ran out more often than the job's attempts allow. */
export class LeaseExpiredError extends MillraceError {
  static override readonly code = 'LEASE_EXPIRED';
}

/**
 * A job that was running went back to the queue without failing: its executor thread was
 * replaced, or its run was resumed by another process. The attempt records this; the job
 * runs again and replays its recorded calls.
 */
export class ReleasedError extends MillraceError {
  static override readonly code = 'RELEASED';
}

/** A child job submitted under a parent job that is not stored. */
export class UnknownParentError extends MillraceError {
  static override readonly code = 'UNKNOWN_PARENT';
  readonly parentJob: string;
  constructor(parentJob: string) {
    super(`Parent job ${parentJob} does not exist`);
    this.parentJob = parentJob;
  }
}

/**
 * A child submitted on behalf of the worker that runs its parent, which that worker no longer
 * holds (Store.enqueue's parentHeld): nothing was recorded. The server answers the worker with
 * why (the parent finished, or its lease is another's).
 */
export class ParentNotHeldError extends MillraceError {
  static override readonly code = 'PARENT_NOT_HELD';
  readonly parentJob: string;
  constructor(parentJob: string, workerId: string, attempt: number) {
    super(
      `Parent job ${parentJob} is not running attempt ${attempt} on worker ${workerId}: its child was not recorded`,
    );
    this.parentJob = parentJob;
  }
}

/** The configuration or environment is wrong (a bad flag, an unreadable database). */
export class ConfigError extends MillraceError {
  static override readonly code = 'CONFIG';
}

function indentCause(stack: string): string {
  return stack.split('\n').join('\n  ');
}

/** A flow file that cannot run: bad YAML or JSON, or an OpenFlow value millrace refuses. Every problem is listed. */
export class FlowValidationError extends MillraceError {
  static override readonly code = 'FLOW_INVALID';
  readonly flow: string;
  readonly problems: string[];
  constructor(flow: string, problems: string[]) {
    super(
      `Flow "${flow}" cannot run (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
    this.flow = flow;
    this.problems = problems;
  }
}

/** No flow file at a path. */
export class UnknownFlowError extends MillraceError {
  static override readonly code = 'UNKNOWN_FLOW';
  readonly path: string;
  constructor(path: string, detail: string) {
    super(`Unknown flow "${path}": ${detail}`);
    this.path = path;
  }
}

/** A flow expression (an input transform, iterator, branch expr, skip_if or stop_after_if) threw, timed out or did not compile. */
export class FlowExpressionError extends MillraceError {
  static override readonly code = 'FLOW_EXPRESSION';
  readonly moduleId: string;
  readonly expression: string;
  constructor(moduleId: string, where: string, expression: string, problem: string) {
    super(`Module "${moduleId}": ${where} expression ${JSON.stringify(expression)} failed: ${problem}`);
    this.moduleId = moduleId;
    this.expression = expression;
  }
}

/** getResult of a job that has not finished yet. */
export class JobNotFinishedError extends MillraceError {
  static override readonly code = 'NOT_FINISHED';
  readonly jobId: string;
  constructor(jobId: string, status: string) {
    super(`Job ${jobId} has not finished yet (it is ${status}); use waitJob to wait for its result`);
    this.jobId = jobId;
  }
}

/** A module of a flow failed; the flow fails with this. `moduleId` names the module that failed. */
export class FlowModuleError extends MillraceError {
  static override readonly code = 'FLOW_MODULE_FAILED';
  readonly moduleId: string;
  constructor(moduleId: string, message: string) {
    super(message);
    this.moduleId = moduleId;
  }
}

/** A token named by id or prefix (`millrace token revoke`, the token routes) that is not stored, or is ambiguous. */
export class UnknownTokenError extends MillraceError {
  static override readonly code = 'UNKNOWN_TOKEN';
  readonly ref: string;
  constructor(ref: string, detail?: string) {
    super(
      detail
        ? `Token "${ref}" is ambiguous: ${detail}; give more of the id`
        : `No token matches "${ref}": expected a token id or prefix as \`millrace token list\` shows it (or the whole token)`,
    );
    this.ref = ref;
  }
}

/**
 * A worker reported on a job (a start, log lines, its end, a task call) whose current lease it
 * does not hold: the lease ran out and went to another attempt, or the job was canceled or has
 * finished. Nothing of it was written.
 */
export class LeaseNotHeldError extends MillraceError {
  static override readonly code = 'LEASE_NOT_HELD';
}

// The errors of waits, approvals, schedules and operations (progress, shutdown, traces) are in
// errors-operations.ts.
