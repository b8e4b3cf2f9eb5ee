import { MillraceError } from './errors.js';

// The errors of runs that meet the outside world (waits, approvals, schedules) and of running
// millrace for months (progress, shutdown, traces, listings). The base class and the errors of jobs,
// scripts, tasks and flows are in errors.ts.

/** `waitForEvent` / `waitForApproval` whose timeout ran out before the event came. The job may catch it. */
export class WaitTimeoutError extends MillraceError {
  static override readonly code = 'WAIT_TIMEOUT';
}

/** An event (or an approval) sent to a job that has finished: nothing waits for it any more (HTTP 409). */
export class JobFinishedError extends MillraceError {
  static override readonly code = 'JOB_FINISHED';
  readonly jobId: string;
  constructor(jobId: string, status: string, what: string) {
    super(`Job ${jobId} has finished (${status}): ${what} can no longer reach it`);
    this.jobId = jobId;
  }
}

/** A resume or cancel URL whose signature is not this store's for that job and resume id (HTTP 401). */
export class BadSignatureError extends MillraceError {
  static override readonly code = 'BAD_SIGNATURE';
}

/**
 * A resume or cancel URL used again after it was used once, or an approval for a job that is
 * not waiting for it (HTTP 409).
 */
export class ApprovalStateError extends MillraceError {
  static override readonly code = 'APPROVAL_STATE';
}

/** The value an approver sent does not fit the approval's form (its JSON schema). `problems` name the fields (HTTP 400). */
export class ApprovalFormError extends MillraceError {
  static override readonly code = 'APPROVAL_FORM';
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`The approval's value does not fit its form: ${problems.join('; ')}`);
    this.problems = problems;
  }
}

/** A schedule's cron, time zone, args or name is not valid. `field` names which (`cron`, `timezone`, `args`, `name`, `path`). */
export class ScheduleError extends MillraceError {
  static override readonly code = 'BAD_SCHEDULE';
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** No schedule of that name in the workspace. */
export class UnknownScheduleError extends MillraceError {
  static override readonly code = 'UNKNOWN_SCHEDULE';
  constructor(name: string) {
    super(`No schedule named "${name}": see the names with millrace schedule list`);
  }
}

/** A schedule of that name exists already in the workspace. */
export class ScheduleExistsError extends MillraceError {
  static override readonly code = 'SCHEDULE_EXISTS';
  constructor(name: string) {
    super(
      `A schedule named "${name}" exists already: delete it first (millrace schedule delete ${name}) or pick another --name`,
    );
  }
}

/** A progress report that is not a whole percentage from 0 to 100 (or whose message is not a string). */
export class ProgressError extends MillraceError {
  static override readonly code = 'BAD_PROGRESS';
}

/** The server is shutting down (SIGTERM): it takes no new work; ask another server, or again once it is back. */
export class ShuttingDownError extends MillraceError {
  static override readonly code = 'SHUTTING_DOWN';
}

/** A `traceparent` sent with a run that is not a W3C trace context header. */
export class TraceparentError extends MillraceError {
  static override readonly code = 'BAD_TRACEPARENT';
}

/**
 * A filter of a Windmill job listing (`jobs/queue/list`, `jobs/completed/list`) that millrace
 * cannot honour: refused by name rather than ignored, since a listing that quietly drops a
 * filter answers a different question than the one asked.
 */
export class UnsupportedFilterError extends MillraceError {
  static override readonly code = 'UNSUPPORTED_FILTER';
  readonly filter: string;
  constructor(filter: string, reason: string) {
    super(`query ${filter}: ${reason}`);
    this.filter = filter;
  }
}
