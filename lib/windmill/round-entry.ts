/**
 * The process that runs one round of a Windmill workflow (round.ts starts it, with tsx's loader).
 * windmill-client keeps the workflow's state in globals and `process.env` (`WM_JOB_ID`, its
 * `WorkflowCtx` on globalThis), so each round of each job gets a process of its own, as on
 * Windmill's worker. It gets a RoundRequest over IPC, runs the script's workflow from the
 * checkpoint, and answers a RoundOutcome: the body's result, the suspend it raised (the tasks to
 * dispatch, a sleep, an approval, a step's checkpoint) or its failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Checkpoint, DispatchInfo, RoundError, RoundOutcome, RoundRequest, StepInfo } from './protocol.js';

/** The parts of windmill-client's WorkflowCtx the round drives (its runner-facing methods). */
interface WorkflowCtx {
  _flushPending(): StepInfo[];
  _takePendingSuspend(): { dispatchInfo: DispatchInfo } | null;
  _takePendingStepFailure(): { error: unknown } | null;
  _warnUnobservedTaskFailures(): void;
}
interface Sdk {
  WorkflowCtx: new (checkpoint: Checkpoint) => WorkflowCtx;
  setWorkflowCtx(ctx: WorkflowCtx): void;
}

type WorkflowFn = ((...args: unknown[]) => Promise<unknown>) & { _is_workflow?: boolean; _is_task?: boolean };

function isSuspend(e: unknown): e is { dispatchInfo: DispatchInfo } {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'StepSuspend';
}

function errorOf(e: unknown): RoundError {
  if (e instanceof Error) return { name: e.name, message: e.message, ...(e.stack !== undefined && { stack: e.stack }) };
  return { name: 'Error', message: typeof e === 'string' ? e : JSON.stringify(e) };
}

/** The workflow: the export wrapped by workflow() (main first), else a plain exported main. */
function entryOf(mod: Record<string, unknown>): WorkflowFn | undefined {
  const fns = Object.entries(mod).filter((e): e is [string, WorkflowFn] => typeof e[1] === 'function');
  const wrapped = fns.filter(([, fn]) => fn._is_workflow === true);
  return (
    wrapped.find(([name]) => name === 'main')?.[1] ??
    wrapped[0]?.[1] ??
    fns.find(([name]) => name === 'main')?.[1] ??
    fns.find(([name]) => name === 'default')?.[1]
  );
}

/**
 * The file of windmill-client's ES module build as the script's import finds it, so that the
 * script and the round share one copy (a second, CommonJS copy would cost a second load, and
 * the state the SDK keeps in its module besides globalThis). Falls back to what require finds.
 */
function sdkModule(scriptFile: string): string {
  let required: string;
  try {
    required = createRequire(scriptFile).resolve('windmill-client');
  } catch {
    throw new Error(
      `${scriptFile} is a Windmill workflow, and windmill-client is not installed where it can import it: run \`npm install windmill-client\` in the project`,
    );
  }
  for (let dir = dirname(required); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      name?: string;
      exports?: { '.'?: { import?: { default?: string } } };
    };
    if (pkg.name !== 'windmill-client') continue;
    const esm = pkg.exports?.['.']?.import?.default;
    return esm ? join(dir, esm) : required;
  }
  return required;
}

/** The exported function of that name. */
function exportedFn(mod: Record<string, unknown>, name: string): WorkflowFn | undefined {
  const fn = mod[name];
  return typeof fn === 'function' ? (fn as WorkflowFn) : undefined;
}

/** The body's end: its result, the suspend it raised, or its failure. */
async function settle(body: () => Promise<unknown>): Promise<RoundOutcome> {
  try {
    return { kind: 'complete', result: await body() };
  } catch (e) {
    return isSuspend(e) ? { kind: 'suspend', dispatch: e.dispatchInfo } : { kind: 'failure', error: errorOf(e) };
  }
}

async function runRound(request: RoundRequest): Promise<RoundOutcome> {
  // The SDK the script imports: resolved from the script, so a project's own copy is the one used.
  const sdk = (await import(pathToFileURL(sdkModule(request.file)).href)) as Sdk;
  const mod = (await import(pathToFileURL(request.file).href)) as Record<string, unknown>;
  const entry = request.entrypoint === undefined ? entryOf(mod) : exportedFn(mod, request.entrypoint);
  if (!entry) {
    const message =
      request.entrypoint === undefined
        ? `${request.file} exports no workflow() and no main`
        : `${request.file} exports no function "${request.entrypoint}" (its exports: ${Object.keys(mod).join(', ') || 'none'})`;
    return { kind: 'failure', error: { name: 'NoWorkflowError', message } };
  }
  // A plain function called by entrypoint runs as it is, outside any workflow; a task() wrapper
  // runs its body as an inline task's job does, its step key being the one executed.
  const plain = request.entrypoint !== undefined && entry._is_task !== true;
  if (plain) return settle(() => entry(...request.args));
  const checkpoint =
    request.entrypoint === undefined ? request.checkpoint : { completed_steps: {}, _executing_key: entry.name };
  const ctx = new sdk.WorkflowCtx(checkpoint);
  sdk.setWorkflowCtx(ctx);
  let outcome = await settle(() => entry(...request.args));
  // A body that caught the SDK's suspend or an executing task's failure does not get to turn
  // it into a result (WorkflowCtx parks both for the runner to take).
  const stepFailure = ctx._takePendingStepFailure();
  if (stepFailure) return { kind: 'failure', error: errorOf(stepFailure.error) };
  const swallowed = ctx._takePendingSuspend();
  if (swallowed && outcome.kind !== 'suspend') outcome = { kind: 'suspend', dispatch: swallowed.dispatchInfo };
  // Tasks called and never awaited are dispatched all the same, as Windmill's runner does.
  const pending = ctx._flushPending();
  if (pending.length > 0) {
    if (
      outcome.kind === 'suspend' &&
      'steps' in outcome.dispatch &&
      outcome.dispatch.mode.match(/^(sequential|parallel)$/)
    ) {
      const steps = [...(outcome.dispatch.steps as StepInfo[]), ...pending];
      outcome = { kind: 'suspend', dispatch: { mode: steps.length > 1 ? 'parallel' : 'sequential', steps } };
    } else if (outcome.kind === 'complete') {
      outcome = { kind: 'suspend', dispatch: { mode: pending.length > 1 ? 'parallel' : 'sequential', steps: pending } };
    }
  }
  if (outcome.kind === 'complete' || outcome.kind === 'failure') ctx._warnUnobservedTaskFailures();
  return outcome;
}

// The runner that started this round is gone (its worker was killed): the round's job runs again
// elsewhere, so this one must not carry on behind its back.
process.once('disconnect', () => process.exit(1));

process.once('message', (request: RoundRequest) => {
  void runRound(request)
    .catch((e: unknown): RoundOutcome => ({ kind: 'failure', error: errorOf(e) }))
    .then((outcome) => {
      // undefined (no result) travels as null, as the SDK's checkpoint encoding has it.
      const encoded = JSON.parse(
        JSON.stringify(outcome, (_k, v: unknown) =>
          v === undefined ? null : typeof v === 'bigint' ? v.toString() : v,
        ),
      ) as RoundOutcome;
      // The body's unresolved promises (other tasks of the round) must not keep the process.
      process.send!(encoded, () => process.exit(0));
    });
});
