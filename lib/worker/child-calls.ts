import { readFileSync } from 'node:fs';
import { toErrorRecord } from '../error-record.js';
import { pathChildTarget } from '../flow/run-request.js';
import { newJobId } from '../ids.js';
import { resolveScript } from '../loader/paths.js';
import { scriptFlowControl } from '../loader/script-config.js';
import type { ClaimAtOnce } from '../store/store.js';
import type { ChildOutcome } from '../task/runtime.js';
import type { JobRecord, JobSpec, Json } from '../types.js';
import type { WorkerBackend } from './backend.js';
import type { LogBuffer } from './log-buffer.js';
import type { ChildCall, HostMessage, StepRequest, ThreadMessage } from './protocol.js';
import type { UnrecordedChildren } from './unrecorded-children.js';

export interface ChildCallsOptions {
  backend: WorkerBackend;
  /** The project root scripts are resolved under. */
  root: string;
  /** Aborts every wait when the worker closes. */
  signal: AbortSignal;
  logs: LogBuffer;
  /** Children this worker takes as they are recorded (at-once.ts); none without. */
  atOnce?: { claim: ClaimAtOnce; settle(taken: JobRecord | undefined): void };
  /** Children taken at once that run before they are recorded (unrecorded-children.ts). */
  unrecorded?: Pick<UnrecordedChildren, 'take'>;
}

/**
 * What a running job asks of its worker besides its own run: task calls, sleeps and calls by
 * path (runScript, runFlow, a flow's steps) become child jobs; steps are recorded as finished
 * children; waitJob, getJobStatus / getResult and cancelJob act on other jobs. Every answer is
 * an outcome: a failure to submit or wait fails the call, never the worker. Slots are the
 * worker's business (slots.ts), not this file's.
 */
export class ChildCalls {
  constructor(private readonly options: ChildCallsOptions) {}

  /**
   * Submits the call as a child job and waits for it; any failure to do so fails the call.
   * `atOnce`: the worker reserved room for the child (at-once.ts), to take it as it is recorded.
   */
  async run(parent: JobRecord, call: ChildCall, atOnce = false): Promise<ChildOutcome> {
    const { backend, root, signal, logs } = this.options;
    let childId: string | undefined;
    // The room reserved for a child taken at once, until submitTaken settles it (or a failure before).
    let reserved = atOnce;
    try {
      // The parent's lines so far go to the store before its child exists, so logs read in order.
      await logs.flushed();
      const target = childTarget(root, parent, call);
      const spec: JobSpec = {
        ...target,
        tag: call.tag,
        workspace: parent.workspace,
        parentJob: parent.id,
        callKey: call.callKey,
        timeout: call.timeout,
        retry: call.retry,
        ...flowControlOf(root, call, target.scriptPath),
        ...(call.seconds !== undefined && { delayMs: call.seconds * 1000 }),
      };
      reserved = false;
      childId = atOnce ? await this.submitTaken(parent, spec) : await backend.submitChild(spec);
      if (call.detach)
        return {
          status: 'success',
          result: childId,
          jobId: childId,
          tag: call.tag,
          attempt: 0,
          maxAttempts: call.retry?.attempts ?? 1,
        };
      return childOutcome(await backend.waitFinished(childId, signal));
    } catch (err) {
      return {
        status: 'failure',
        error: toErrorRecord(err),
        jobId: childId ?? '(not submitted)',
        tag: call.tag,
        attempt: 0,
        maxAttempts: call.retry?.attempts ?? 1,
      };
    } finally {
      if (reserved) this.options.atOnce?.settle(undefined);
    }
  }

  /**
   * Submits a child to be taken by this worker as it is recorded (Store.enqueue's claim), and
   * settles the room reserved for it: with the child when it was taken, without when it was
   * not (a call already recorded, a child that must queue), or when the submission failed. A
   * child that may run before it is recorded (unrecorded-children.ts) is taken with nothing written.
   */
  private async submitTaken(parent: JobRecord, spec: JobSpec): Promise<string> {
    const { backend, atOnce, unrecorded } = this.options;
    // Its own id: a job of another id is the one already recorded for the call (a replay), never taken here.
    const id = newJobId();
    let taken = unrecorded?.take(parent, { ...spec, id }, atOnce!.claim);
    if (taken) {
      atOnce!.settle(taken);
      return id;
    }
    try {
      const job = await backend.submit!({ ...spec, id }, atOnce!.claim);
      if ('status' in job && job.id === id && job.status === 'running' && job.worker === atOnce!.claim.workerId)
        taken = job;
      return job.id;
    } finally {
      atOnce!.settle(taken);
    }
  }

  /** waitJob, getJobStatus / getResult and cancelJob called by a running job. */
  async jobOp(op: 'wait' | 'get' | 'cancel' | 'progress', jobId: string, reason?: string): Promise<ChildOutcome> {
    const { backend, signal } = this.options;
    const base = { jobId, tag: '', attempt: 0, maxAttempts: 1 };
    try {
      switch (op) {
        case 'wait':
          return childOutcome(await backend.waitFinished(jobId, signal));
        case 'get':
          return { ...base, status: 'success', result: ((await backend.getJob(jobId)) ?? null) as unknown as Json };
        case 'cancel':
          await backend.cancelJob(jobId, reason ?? 'canceled');
          return { ...base, status: 'success', result: null };
        case 'progress':
          return {
            ...base,
            status: 'success',
            result: ((await backend.getProgress(jobId)) ?? null) as unknown as Json,
          };
      }
    } catch (err) {
      return { ...base, status: 'failure', error: toErrorRecord(err) };
    }
  }

  /** sendEvent and getResumeUrls called by a running job: the outcome's result is their answer. */
  async eventOp(op: Extract<ThreadMessage, { type: 'eventOp' }>): Promise<ChildOutcome> {
    const { backend } = this.options;
    const base = { jobId: op.jobId, tag: '', attempt: 0, maxAttempts: 1 };
    try {
      const result =
        op.op === 'send'
          ? await backend.sendEvent(op.jobId, op.name, op.payload)
          : await backend.resumeUrls(op.jobId, op.resumeId);
      return { ...base, status: 'success', result: { ...result } };
    } catch (err) {
      return { ...base, status: 'failure', error: toErrorRecord(err) };
    }
  }

  /** A step's recorded result, or the recording of one: the answer to send to the thread. */
  async step(parent: JobRecord, callId: number, step: StepRequest): Promise<HostMessage & { type: 'stepDone' }> {
    const { backend, logs } = this.options;
    try {
      if (step.op === 'get') {
        const job = await backend.findChild(parent.id, step.callKey);
        const found = job?.status === 'success';
        return { type: 'stepDone', callId, found, ...(found && { recorded: job.result }) };
      }
      await logs.flushed();
      const job = await backend.recordStep(
        {
          kind: 'step',
          scriptPath: parent.scriptPath,
          scriptHash: parent.scriptHash,
          entrypoint: step.name,
          args: [],
          tag: parent.tag,
          workspace: parent.workspace,
          parentJob: parent.id,
          callKey: step.callKey,
        },
        { status: 'success', result: step.result },
        step.startedAt,
        step.at,
      );
      return { type: 'stepDone', callId, found: true, recorded: job.result };
    } catch (err) {
      return { type: 'stepDone', callId, found: false, error: toErrorRecord(err) };
    }
  }
}

/** What a call makes: a task of a module, a sleep or wait of the calling job, or a script, flow or flow step by path. */
function childTarget(
  root: string,
  parent: JobRecord,
  call: ChildCall,
): Pick<JobSpec, 'kind' | 'scriptPath' | 'scriptHash' | 'entrypoint' | 'args'> {
  switch (call.kind) {
    case 'task': {
      const script = resolveScript(root, call.scriptPath);
      return { kind: 'task', scriptPath: script.path, scriptHash: script.hash, entrypoint: call.name, args: call.args };
    }
    case 'wait':
      return {
        kind: 'wait',
        scriptPath: parent.scriptPath,
        scriptHash: parent.scriptHash,
        entrypoint: call.name,
        args: call.args,
      };
    case 'sleep':
      return {
        kind: 'sleep',
        scriptPath: parent.scriptPath,
        scriptHash: parent.scriptHash,
        entrypoint: call.name,
        args: call.args,
      };
    default:
      return pathChildTarget(root, call);
  }
}

/** A task call's flow control, or a script's by path (runScript): its exported config's. */
function flowControlOf(root: string, call: ChildCall, scriptPath: string): Pick<JobSpec, 'flowControl'> {
  if (call.flowControl) return { flowControl: call.flowControl };
  if (call.kind !== 'script') return {};
  const script = resolveScript(root, scriptPath);
  const flowControl = scriptFlowControl(readFileSync(script.file, 'utf8'), script.hash, script.path);
  return flowControl ? { flowControl } : {};
}

/** A finished child as the calling job's awaited outcome. */
function childOutcome(job: JobRecord): ChildOutcome {
  const base = { jobId: job.id, tag: job.tag, attempt: job.attempt, maxAttempts: job.maxAttempts };
  switch (job.status) {
    case 'success':
      return { ...base, status: 'success', result: job.result };
    case 'canceled':
      return { ...base, status: 'canceled', error: job.error ?? { name: 'CanceledError', message: 'canceled' } };
    default:
      return {
        ...base,
        status: 'failure',
        error: job.error ?? { name: 'Error', message: `job ended as ${job.status}` },
      };
  }
}
