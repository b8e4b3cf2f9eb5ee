import {
  ArgsError,
  MillraceError,
  NoMainError,
  UnknownEntrypointError,
  UnknownJobError,
  UnknownTokenError,
  UnknownScriptError,
  SerializationError,
  FlowValidationError,
  TooLargeError,
  UnknownFlowError,
  ScriptSyntaxError,
} from '../errors.js';
import {
  BadSignatureError,
  JobFinishedError,
  ApprovalStateError,
  ApprovalFormError,
  UnknownScheduleError,
  ScheduleExistsError,
  ShuttingDownError,
} from '../errors-operations.js';

/** An error with the HTTP status it answers with; its body is `{ error: { code, message } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems?: string[],
    /** With LEASE_NOT_HELD: the jobs refused, so that a worker can drop their reports and send the rest. */
    readonly jobs?: string[],
  ) {
    super(message);
  }
}

/** The status an error from the domain answers with. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof UnknownScriptError || err instanceof UnknownJobError)
    return new HttpError(404, err.code, err.message);
  if (err instanceof UnknownTokenError) return new HttpError(404, err.code, err.message);
  if (err instanceof UnknownFlowError) return new HttpError(404, err.code, err.message);
  if (err instanceof UnknownScheduleError) return new HttpError(404, err.code, err.message);
  if (err instanceof ScheduleExistsError) return new HttpError(409, err.code, err.message);
  if (err instanceof FlowValidationError) return new HttpError(422, err.code, err.message, err.problems);
  if (err instanceof ArgsError) return new HttpError(422, err.code, err.message, err.problems);
  if (
    err instanceof NoMainError ||
    err instanceof UnknownEntrypointError ||
    err instanceof SerializationError ||
    err instanceof ScriptSyntaxError
  )
    return new HttpError(422, err.code, err.message);
  if (err instanceof BadSignatureError) return new HttpError(401, err.code, err.message);
  if (err instanceof JobFinishedError || err instanceof ApprovalStateError)
    return new HttpError(409, err.code, err.message);
  if (err instanceof ApprovalFormError) return new HttpError(400, err.code, err.message, err.problems);
  if (err instanceof ShuttingDownError) return new HttpError(503, err.code, err.message);
  if (err instanceof TooLargeError) return new HttpError(413, err.code, err.message);
  if (err instanceof MillraceError) return new HttpError(400, err.code, err.message);
  return new HttpError(500, 'INTERNAL', `Internal error: ${err instanceof Error ? err.message : String(err)}`);
}
