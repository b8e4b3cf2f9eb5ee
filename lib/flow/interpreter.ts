import pLimit from 'p-limit';
import { FlowExpressionError, FlowModuleError } from '../errors.js';
import { decode, encode } from '../serialize.js';
import type { ChildOutcome, PathCall } from '../task/runtime.js';
import type { Json } from '../types.js';
import { evaluate, truthy, type ExpressionNames } from './expressions.js';
import { moduleScriptPath } from './files.js';
import { IDENTITY_SOURCE } from './identity.js';
import type { Flow, FlowModule, FlowStatus, ModuleState, ModuleStatus } from './types.js';
import { asModuleFailure, failureValue, ModuleFailure, settleAll, Stop } from './module-failure.js';
import { retryOptions } from './module-options.js';
import { withTaskName } from '../flow-options.js';

/** How long status changes are gathered before they are recorded. */
const STATUS_DELAY_MS = 100;

/** What the interpreter needs from the job it runs in. */
export interface ModuleRunner {
  /** Submits a module as a child job of the flow job; resolves once it is persisted (the outcome's jobId). */
  submit(call: PathCall): Promise<ChildOutcome>;
  /** Resolves when the job has finished. */
  wait(jobId: string): Promise<ChildOutcome>;
  cancel(jobId: string, reason: string): Promise<void>;
  /** Records the flow status on the flow job. */
  saveStatus(status: FlowStatus): void;
}

/** Where a module runs: what its expressions can read, and the prefix of its modules' call keys. */
interface Frame {
  flowInput: Record<string, unknown>;
  results: Record<string, unknown>;
  previous: unknown;
  keyPrefix: string;
}

/**
 * Runs a flow's modules in order: each script, rawscript and identity module as a child job
 * of kind flowmodule; loops and branches here, with their modules as child jobs too. Records each
 * module's status (and each iteration and branch) as it changes.
 */
export class FlowInterpreter {
  private readonly status: FlowStatus;
  /** Every result so far, by module id, for the failure module. */
  private readonly allResults: Record<string, unknown> = {};
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flow: Flow,
    private readonly runner: ModuleRunner,
  ) {
    this.status = {
      step: 0,
      modules: statusesOf(flow.modules),
      failure_module: flow.failureModule ? statusesOf([flow.failureModule])[0] : undefined,
    };
  }

  async run(flowInput: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.runAll(flowInput);
    } finally {
      this.flushStatus();
    }
  }

  private async runAll(flowInput: Record<string, unknown>): Promise<unknown> {
    this.flushStatus();
    const frame: Frame = { flowInput, results: {}, previous: flowInput, keyPrefix: '' };
    try {
      return await this.runModules(this.flow.modules, this.status.modules, frame, true);
    } catch (err) {
      if (err instanceof Stop) return err.value;
      const failure = asModuleFailure(err, '(flow)');
      const handler = this.flow.failureModule;
      if (!handler || !this.status.failure_module) throw new FlowModuleError(failure.moduleId, failure.message);
      const input = { error: failure.error, step_id: failure.moduleId };
      let handled: unknown;
      try {
        handled = await this.runModule(handler, this.status.failure_module, {
          flowInput,
          results: { ...this.allResults },
          previous: input,
          keyPrefix: 'failure/',
        });
      } catch (handlerErr) {
        if (handlerErr instanceof Stop) handled = handlerErr.value;
        else {
          throw new FlowModuleError(
            failure.moduleId,
            `${failure.message}. The failure module "${handler.id}" failed too: ${(handlerErr as Error).message}`,
          );
        }
      }
      throw new FlowModuleError(
        failure.moduleId,
        `${failure.message}. The failure module "${handler.id}" ran and returned ${short(handled)}`,
      );
    }
  }

  private async runModules(
    modules: FlowModule[],
    statuses: ModuleStatus[],
    frame: Frame,
    top = false,
  ): Promise<unknown> {
    const results = { ...frame.results };
    let previous = frame.previous;
    for (let i = 0; i < modules.length; i++) {
      if (top) this.status.step = i;
      const value = await this.runModule(modules[i], statuses[i], { ...frame, results, previous });
      results[modules[i].id] = value;
      this.allResults[modules[i].id] = value;
      previous = value;
    }
    return previous;
  }

  private async runModule(m: FlowModule, st: ModuleStatus, frame: Frame): Promise<unknown> {
    this.mark(st, 'InProgress');
    try {
      if (m.skipIf && truthy(evaluate(m.skipIf.expr, names(frame), { moduleId: m.id, where: 'skip_if' }))) {
        st.skipped = true;
        this.mark(st, 'Success');
        return frame.previous;
      }
      let value: unknown;
      switch (m.value.type) {
        case 'script':
        case 'rawscript':
        case 'identity':
          value = await this.runAsChild(m, st, frame);
          break;
        case 'forloopflow':
          value = await this.runLoop(m, m.value, st, frame);
          break;
        case 'branchone':
          value = await this.runBranchOne(m, m.value, st, frame);
          break;
        case 'branchall':
          value = await this.runBranchAll(m, m.value, st, frame);
          break;
      }
      this.mark(st, 'Success');
      if (m.stopAfterIf) {
        const stopNames = { ...names(frame), results: { ...frame.results, [m.id]: value }, result: value };
        if (truthy(evaluate(m.stopAfterIf.expr, stopNames, { moduleId: m.id, where: 'stop_after_if' }))) {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- Stop is a signal the loop catches, not a failure
          throw new Stop(value);
        }
      }
      return value;
    } catch (err) {
      if (err instanceof Stop) throw err;
      const failure = asModuleFailure(err, m.id);
      if (st.type !== 'Success') {
        st.error = { name: failure.error.name, message: failure.error.message };
        this.mark(st, 'Failure');
      }
      throw failure;
    }
  }

  private async runAsChild(m: FlowModule, st: ModuleStatus, frame: Frame): Promise<unknown> {
    const v = m.value;
    const args: Record<string, Json> = {};
    let path: string;
    let tag: string | undefined;
    if (v.type === 'identity') {
      args.previous_result = encode(frame.previous ?? null, 'previous_result');
      path = moduleScriptPath(this.flow.path, m.id, IDENTITY_SOURCE);
    } else if (v.type === 'script' || v.type === 'rawscript') {
      for (const [name, t] of Object.entries(v.inputTransforms)) {
        const value =
          t.type === 'static'
            ? t.value
            : evaluate(t.expr, names(frame), { moduleId: m.id, where: `input_transforms.${name}` });
        if (value !== undefined) args[name] = encode(value, `input_transforms.${name}`);
      }
      path = v.type === 'script' ? v.path : moduleScriptPath(this.flow.path, m.id, v.content);
      tag = v.tag;
    } else {
      throw new Error(`module ${m.id} does not run as a child job`);
    }
    const submitted = await this.runner.submit({
      kind: 'flowmodule',
      path,
      name: m.id,
      args,
      tag,
      key: `@module:${frame.keyPrefix}${m.id}`,
      ...(m.timeout !== undefined && { timeout: m.timeout }),
      ...(m.retry && { retry: retryOptions(m.retry) }),
      ...(m.flowControl && { flowControl: withTaskName(m.flowControl, path) }),
      detach: true,
    });
    if (submitted.status !== 'success') throw new ModuleFailure(m.id, submitted.error, undefined);
    const jobId = submitted.jobId;
    st.job = jobId;
    this.save();
    // A module past its timeout is stopped by its worker: that attempt fails with a TimeoutError.
    const outcome = await this.runner.wait(jobId);
    if (outcome.status === 'success') return decode(outcome.result);
    throw new ModuleFailure(m.id, outcome.error, jobId);
  }

  private async runLoop(
    m: FlowModule,
    loop: Extract<FlowModule['value'], { type: 'forloopflow' }>,
    st: ModuleStatus,
    frame: Frame,
  ): Promise<unknown[]> {
    const items = evaluate(loop.iterator, names(frame), { moduleId: m.id, where: 'iterator' });
    if (!Array.isArray(items)) {
      throw new FlowExpressionError(
        m.id,
        'iterator',
        loop.iterator,
        `it must give an array, and gave ${items === null ? 'null' : typeof items}`,
      );
    }
    const iterations = items.map((_, index) => ({
      index,
      type: 'WaitingForPriorSteps' as ModuleState,
      modules: statusesOf(loop.modules),
    }));
    st.iterations = iterations;
    this.save();
    const runOne = async (index: number): Promise<unknown> => {
      const it = iterations[index];
      this.mark(it, 'InProgress');
      try {
        const value = await this.runModules(loop.modules, it.modules, {
          flowInput: { ...frame.flowInput, iter: { value: items[index], index } },
          results: frame.results,
          previous: frame.previous,
          keyPrefix: `${frame.keyPrefix}${m.id}[${index}]/`,
        });
        this.mark(it, 'Success');
        return value;
      } catch (err) {
        if (err instanceof Stop) throw err;
        this.mark(it, 'Failure');
        if (loop.skipFailures) return failureValue(asModuleFailure(err, m.id));
        throw err;
      }
    };
    if (!loop.parallel) {
      const out: unknown[] = [];
      for (let i = 0; i < items.length; i++) out.push(await runOne(i));
      return out;
    }
    const limit = pLimit(loop.parallelism ?? Math.max(1, items.length));
    return settleAll(items.map((_, i) => limit(() => runOne(i))));
  }

  private async runBranchOne(
    m: FlowModule,
    branch: Extract<FlowModule['value'], { type: 'branchone' }>,
    st: ModuleStatus,
    frame: Frame,
  ): Promise<unknown> {
    let chosen = -1;
    for (let i = 0; i < branch.branches.length && chosen < 0; i++) {
      if (truthy(evaluate(branch.branches[i].expr, names(frame), { moduleId: m.id, where: `branches[${i}].expr` })))
        chosen = i;
    }
    const modules = chosen >= 0 ? branch.branches[chosen].modules : branch.default;
    st.branch_chosen = chosen >= 0 ? { type: 'branch', branch: chosen } : { type: 'default' };
    const taken = { index: chosen, type: 'InProgress' as ModuleState, modules: statusesOf(modules) };
    st.branches = [taken];
    this.save();
    try {
      const value = await this.runModules(modules, taken.modules, {
        ...frame,
        keyPrefix: `${frame.keyPrefix}${m.id}/`,
      });
      this.mark(taken, 'Success');
      return value;
    } catch (err) {
      if (!(err instanceof Stop)) this.mark(taken, 'Failure');
      throw err;
    }
  }

  private async runBranchAll(
    m: FlowModule,
    all: Extract<FlowModule['value'], { type: 'branchall' }>,
    st: ModuleStatus,
    frame: Frame,
  ): Promise<unknown[]> {
    const branches = all.branches.map((b, index) => ({
      index,
      type: 'WaitingForPriorSteps' as ModuleState,
      modules: statusesOf(b.modules),
    }));
    st.branches = branches;
    this.save();
    const runOne = async (index: number): Promise<unknown> => {
      const b = branches[index];
      this.mark(b, 'InProgress');
      try {
        const value = await this.runModules(all.branches[index].modules, b.modules, {
          ...frame,
          keyPrefix: `${frame.keyPrefix}${m.id}[${index}]/`,
        });
        this.mark(b, 'Success');
        return value;
      } catch (err) {
        if (err instanceof Stop) throw err;
        this.mark(b, 'Failure');
        if (all.branches[index].skipFailure) {
          (b as { failure_skipped?: boolean }).failure_skipped = true;
          this.save();
          return failureValue(asModuleFailure(err, m.id));
        }
        throw err;
      }
    };
    if (!all.parallel) {
      const out: unknown[] = [];
      for (let i = 0; i < branches.length; i++) out.push(await runOne(i));
      return out;
    }
    return settleAll(branches.map((_, i) => runOne(i)));
  }

  private mark(st: { type: ModuleState; started_at?: number; completed_at?: number }, type: ModuleState): void {
    st.type = type;
    if (type === 'InProgress') st.started_at = Date.now();
    else if (type === 'Success' || type === 'Failure') st.completed_at = Date.now();
    this.save();
  }

  /**
   * Records the status soon: changes within STATUS_DELAY_MS go as one write, so that a loop of
   * n modules costs O(n) writes of the status, not one per change of each (O(n²) bytes).
   */
  private save(): void {
    this.saveTimer ??= setTimeout(() => this.flushStatus(), STATUS_DELAY_MS);
  }

  private flushStatus(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.runner.saveStatus(this.status);
  }
}

function statusesOf(modules: FlowModule[]): ModuleStatus[] {
  return modules.map((m) => ({ id: m.id, type: 'WaitingForPriorSteps', module_type: m.value.type }));
}

function names(frame: Frame): ExpressionNames {
  return { flow_input: frame.flowInput, results: frame.results, previous_result: frame.previous };
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
