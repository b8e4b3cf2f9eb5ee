import type { ApiClient } from '../http/api-client.js';
import { toFlowFields } from '../http/flow-control-wire.js';
import type { TaskCall, TaskCallEnded, TaskCallKind, TaskCallsBody, TaskCallsReply } from '../http/wire.js';
import { REPORT_BUDGET } from '../limits.js';
import type { ClaimAtOnce, TakenEnd } from '../store/store.js';
import { KeyedTickBatch } from '../tick-batch.js';
import type { JobRecord, JobSpec } from '../types.js';
import { callRuns } from './report-batches.js';

export interface TaskCallBatchesOptions {
  client: ApiClient;
  /** This worker's id, as its claims name it: the server checks it against the parent's lease. */
  workerId(): string | undefined;
  /** Sends a request until the server answers it (until-answered.ts). */
  untilAnswered<T>(send: () => Promise<T>): Promise<T>;
}

/**
 * A job's task calls over HTTP, through the workflow_as_code route: the calls made in the same
 * tick to the same task of the same parent go as one request (`{calls: […]}`).
 */
export class TaskCallBatches {
  private readonly batch = new KeyedTickBatch<string, PendingCall>((groups) => this.sendCalls(groups));

  constructor(private readonly options: TaskCallBatchesOptions) {}

  /**
   * Resolves with the child's id once its tick's request is answered, and with its record when
   * `take` asked for it to be taken by this worker and it was. `parentAttempt`: the lease the worker holds.
   */
  add(spec: JobSpec, parentAttempt: number, take?: TakeAsked): Promise<CallAnswer> {
    const key = `${spec.parentJob}\0${spec.kind}\0${spec.entrypoint}\0${spec.scriptPath}\0${spec.scriptHash}`;
    return new Promise((resolve, reject) => {
      const delay =
        spec.delayMs !== undefined
          ? spec.delayMs / 1000
          : spec.scheduledFor === undefined
            ? undefined
            : Math.max(0, (spec.scheduledFor - Date.now()) / 1000);
      const body: TaskCall = {
        args: spec.args,
        call_key: spec.callKey,
        tag: spec.tag,
        timeout: spec.timeout,
        retry: spec.retry,
        ...toFlowFields(spec.flowControl),
        ...(spec.kind !== 'task' && { kind: callKind(spec) }),
        ...(delay !== undefined && { scheduled_in_secs: delay }),
        ...(take && { take_id: take.id }),
        ...(take?.takenAt !== undefined && { taken_at: take.takenAt }),
        ...(take?.ended && { ended: endedWire(take.ended) }),
      };
      this.batch.add(key, { spec, parentAttempt, leaseMs: take?.leaseMs, body, resolve, reject });
    });
  }

  /** Each group's spec and parent attempt are its first call's: the key makes them the same for all. */
  private sendCalls(groups: Map<string, PendingCall[]>): void {
    for (const calls of groups.values()) {
      const { spec, parentAttempt } = calls[0];
      const leaseMs = calls.find((c) => c.leaseMs !== undefined)?.leaseMs;
      const path = this.options.client.ws(
        `jobs/run/workflow_as_code/${encodeURIComponent(spec.parentJob!)}/${encodeURIComponent(spec.entrypoint)}`,
      );
      // A fan-out whose args together exceed a request goes in several, one after the other
      // so that the calls are submitted in the order they were made (each call's args are
      // within the value limit, checked where the call was made).
      let previous: Promise<unknown> = Promise.resolve();
      for (const run of callRuns(calls, REPORT_BUDGET)) {
        const send = () =>
          this.options
            .untilAnswered(() =>
              this.options.client.json<TaskCallsReply>('POST', path, {
                script_path: spec.scriptPath,
                script_hash: spec.scriptHash,
                worker_id: this.options.workerId(),
                parent_attempt: parentAttempt,
                ...(leaseMs !== undefined && { lease_ms: leaseMs }),
                ...(spec.kind !== 'task' && { kind: callKind(spec) }),
                calls: run.map((c) => c.body),
              } satisfies TaskCallsBody),
            )
            .then(
              ({ ids, taken }) => {
                const byId = new Map((taken ?? []).map((j) => [j.id, j]));
                run.forEach((c, i) => c.resolve({ id: ids[i], taken: byId.get(ids[i]) }));
              },
              (err: unknown) => run.forEach((c) => c.reject(err)),
            );
        previous = previous.then(send);
      }
    }
  }
}

/** A child's end before it was recorded, as a task call sends it. */
function endedWire({ result, startedAt, at }: TakenEnd): TaskCallEnded {
  return { result, ...(startedAt !== undefined && { started_at: startedAt }), at };
}

/** A child the calling worker takes (`take_id`): its lease and, where it ran unrecorded, when it was taken and how it ended. */
export type TakeAsked = { id: string } & Pick<ClaimAtOnce, 'leaseMs' | 'takenAt' | 'ended'>;

/** A task call's answer: the child's id, and its record when this worker took it (`take_id`). */
export interface CallAnswer {
  id: string;
  taken: JobRecord | undefined;
}

/** A task call waiting for its tick's request. */
interface PendingCall {
  spec: JobSpec;
  parentAttempt: number;
  /** The lease of a child taken (with `body.take_id`). */
  leaseMs: number | undefined;
  body: TaskCall;
  resolve(answer: CallAnswer): void;
  reject(err: unknown): void;
}

/**
 * The kind of child a job's call submits: only the kinds a job makes through submitChild
 * (task, sleep, wait, script, flow, flowmodule) reach this backend; steps are recorded through
 * recordStep and roots are submitted by clients.
 */
function callKind(spec: JobSpec): TaskCallKind {
  return spec.kind as TaskCallKind;
}
