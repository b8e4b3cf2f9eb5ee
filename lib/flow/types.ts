import type { JsonSchema } from '../loader/signature.js';
import type { FlowControl, Json } from '../types.js';

/**
 * The subset of Windmill's OpenFlow that millrace runs (docs/flows.md has the table). A flow
 * file holds `{ summary, value: { modules, failure_module }, schema }`; these are the shapes
 * after validation (validate.ts), with every optional part checked.
 */

export interface Flow {
  /** The flow path, relative to the project root, without `.flow.yaml` / `.flow.json`. */
  path: string;
  summary: string | undefined;
  modules: FlowModule[];
  failureModule: FlowModule | undefined;
  /** The inputs' schema, checked on submission. */
  schema: JsonSchema;
}

/** How a module's argument is computed: a fixed value or a JavaScript expression. */
export type InputTransform = { type: 'static'; value: Json } | { type: 'javascript'; expr: string };

/** Windmill's retry forms, as written in the flow. */
export interface FlowRetry {
  constant?: { attempts: number; seconds: number };
  exponential?: { attempts: number; multiplier: number; seconds: number };
}

export interface FlowModule {
  id: string;
  summary: string | undefined;
  value: ModuleValue;
  /** Stop the flow after this module when the expression is true (it can read `result`). */
  stopAfterIf: { expr: string } | undefined;
  /** Skip this module when the expression is true. */
  skipIf: { expr: string } | undefined;
  retry: FlowRetry | undefined;
  /** Seconds a module may run. */
  timeout: number | undefined;
  /** concurrency_limit / _key / _time_window_s, priority, cache_ttl (docs/flow-control.md); a key '' is the step's path. */
  flowControl: FlowControl | undefined;
}

export type ModuleValue =
  | { type: 'script'; path: string; inputTransforms: Record<string, InputTransform>; tag: string | undefined }
  | {
      type: 'rawscript';
      content: string;
      language: string;
      inputTransforms: Record<string, InputTransform>;
      tag: string | undefined;
    }
  | { type: 'identity' }
  | {
      type: 'forloopflow';
      iterator: string;
      modules: FlowModule[];
      parallel: boolean;
      parallelism: number | undefined;
      skipFailures: boolean;
    }
  | {
      type: 'branchone';
      branches: { summary: string | undefined; expr: string; modules: FlowModule[] }[];
      default: FlowModule[];
    }
  | {
      type: 'branchall';
      branches: { summary: string | undefined; skipFailure: boolean; modules: FlowModule[] }[];
      parallel: boolean;
    };

export type ModuleType = ModuleValue['type'];
export const MODULE_TYPES: readonly ModuleType[] = [
  'script',
  'rawscript',
  'identity',
  'forloopflow',
  'branchone',
  'branchall',
];

/** The TypeScript `language` values of Windmill that millrace accepts; all run as TypeScript. */
export const TYPESCRIPT_LANGUAGES = ['bun', 'deno', 'nativets', 'typescript'] as const;

/** A module's state, with Windmill's names. */
export type ModuleState = 'WaitingForPriorSteps' | 'InProgress' | 'Success' | 'Failure';

/**
 * What a flow job records of its modules while it runs (Windmill's `flow_status`, in a
 * shape of millrace's: nested modules of loops and branches are recorded too). Times are
 * epoch milliseconds.
 */
export interface FlowStatus {
  /** The index of the top-level module running now (or that ran last). */
  step: number;
  modules: ModuleStatus[];
  failure_module: ModuleStatus | undefined;
}

export interface ModuleStatus {
  id: string;
  type: ModuleState;
  module_type: ModuleType;
  /** The child job that ran this module (script, rawscript, identity). */
  job?: string;
  /** Jobs of failed attempts are not listed: the job keeps its attempts. */
  started_at?: number;
  completed_at?: number;
  skipped?: boolean;
  /** For a module that failed: its error's name and message. */
  error?: { name: string; message: string };
  /** For a branchone: the branch taken. */
  branch_chosen?: { type: 'branch'; branch: number } | { type: 'default' };
  /** For a forloopflow: one entry per iteration. */
  iterations?: IterationStatus[];
  /** For a branchall: one entry per branch; for a branchone, the chosen branch only. */
  branches?: BranchStatus[];
}

export interface IterationStatus {
  index: number;
  type: ModuleState;
  started_at?: number;
  completed_at?: number;
  modules: ModuleStatus[];
}

export interface BranchStatus {
  index: number;
  type: ModuleState;
  /** A branchall branch whose failure was skipped (`skip_failure`). */
  failure_skipped?: boolean;
  modules: ModuleStatus[];
}
