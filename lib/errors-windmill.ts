import { MillraceError } from './errors.js';

/** The errors of Windmill workflows as code (docs/windmill.md); codes in docs/tasks.md. */

/**
 * A Windmill workflow script that passes its task() / taskScript() / taskFlow() an option
 * millrace does not support: refused by name before any job exists, since the SDK itself
 * would drop it without a word.
 */
export class WindmillOptionError extends MillraceError {
  static override readonly code = 'WINDMILL_OPTION';
  readonly problems: string[];
  constructor(script: string, problems: string[]) {
    super(`Script "${script}" uses Windmill task options millrace does not support: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** The workflow's body threw (or, in a task's job, the task did): its error as the round saw it. */
export class WindmillWorkflowError extends MillraceError {
  static override readonly code = 'WINDMILL_FAILED';
  constructor(error: { name: string; message: string; stack?: string }) {
    super(error.message);
    // The user's error's name, as Windmill reports it (the code says it came from a workflow).
    this.name = error.name;
    // The stack of the user's code, not of the runner: the useful one in the job's record.
    if (error.stack) this.stack = error.stack;
  }
}

/** The process of a workflow's round ended without an outcome (killed, out of memory, process.exit in the body). */
export class WindmillRoundError extends MillraceError {
  static override readonly code = 'WINDMILL_ROUND_DIED';
}
