// The public API of millrace: explicit named exports only.
export { task, type Task } from './task/task.js';
export { currentJob, tryCurrentJob, type CurrentJob } from './task/context.js';
export { step, sleep } from './task/durable.js';
export { waitForEvent, waitForApproval, getResumeUrls, type WaitOptions, type ApprovalOptions } from './task/wait.js';
export {
  runScript,
  runScriptAsync,
  runFlow,
  runFlowAsync,
  waitJob,
  getResult,
  getJobStatus,
  cancelJob,
  sendEvent,
  configure,
  disconnect,
  type ConnectionHandle,
  /** @deprecated The same as ConnectionHandle, its former name. */
  type ConnectionHandle as ClientHandle,
} from './helpers/helpers.js';
export type {
  ConnectOptions,
  /** @deprecated The same as ConnectOptions, its former name. */
  ConnectOptions as ClientOptions,
  RunOptions,
} from './helpers/connection.js';
export { setProgress, getProgress } from './helpers/progress.js';
export type { FlowStatus, ModuleStatus, ModuleState, IterationStatus, BranchStatus } from './flow/types.js';
export {
  MillraceError,
  TaskError,
  SerializationError,
  TaskDefinitionError,
  NotInJobError,
  UnknownScriptError,
  NoMainError,
  UnknownEntrypointError,
  UnknownTaskError,
  ArgsError,
  UnknownJobError,
  CanceledError,
  NonRetryableError,
  TimeoutError,
  TooLargeError,
  ProcessExitError,
  NonDeterminismError,
  ScriptHashMismatchError,
  LeaseExpiredError,
  ReleasedError,
  UnknownParentError,
  ConfigError,
  FlowValidationError,
  UnknownFlowError,
  FlowExpressionError,
  FlowModuleError,
  JobNotFinishedError,
  ScriptSyntaxError,
} from './errors.js';
export {
  WaitTimeoutError,
  JobFinishedError,
  BadSignatureError,
  ApprovalStateError,
  ApprovalFormError,
  ScheduleError,
  UnknownScheduleError,
  ScheduleExistsError,
  ProgressError,
  ShuttingDownError,
  TraceparentError,
  UnsupportedFilterError,
} from './errors-operations.js';
export { encode, decode, MAX_DEPTH } from './serialize.js';
export { EmbeddedEngine, type EmbeddedEngineOptions } from './engine/embedded.js';
export { defaultDbFile } from './store/sqlite/open-file.js';
export type { Engine, SubmitRequest, LogsOptions } from './engine/engine.js';
export { SqliteStore, type SqliteStoreOptions } from './store/sqlite/sqlite-store.js';
export type { Store, StoreChange, ClaimRequest, EnqueueResult, CancelRequest, ExpiredLeases } from './store/store.js';
export { inferSignature, type Signature, type JsonSchema, type MainParam } from './loader/signature.js';
export {
  DEFAULT_TAG,
  DEFAULT_WORKSPACE,
  JOB_STATUSES,
  type JobStatus,
  type JobKind,
  type JobRecord,
  type JobSpec,
  type JobContext,
  type JobFilter,
  type AttemptRecord,
  type LogLine,
  type LogStream,
  type Outcome,
  type ErrorRecord,
  type Json,
  type TaskOptions,
  type RetryOptions,
  type EventSent,
  type ResumeUrls,
  type Approval,
  type JobProgress,
} from './types.js';
