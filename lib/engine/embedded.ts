import { availableParallelism } from 'node:os';
import type { Clock } from '../clock.js';
import { resolve } from 'node:path';
import { ReleasedError, UnknownJobError } from '../errors.js';
import { errorRecordOf } from '../error-record.js';
import { newJobId } from '../ids.js';
import { defaultDbFile } from '../store/sqlite/open-file.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { lazyJobSpans, type LazyJobSpans } from '../tracing/lazy-spans.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile, type Signature } from '../loader/signature.js';
import { hostname } from 'node:os';
import {
  DEFAULT_WORKSPACE,
  type AttemptRecord,
  type EventSent,
  type JobFilter,
  type JobProgress,
  type JobRecord,
  type Json,
  type LogLine,
  type QueueSummary,
  type WorkerRecord,
} from '../types.js';
import { checkEventName } from '../wait-names.js';
import { flowJobSpec, isFlowRequest, pathSignature } from '../flow/submission.js';
import { Worker } from '../worker/worker.js';
import { Coordinator } from './coordinator.js';
import type { Engine, LogsOptions, SubmitRequest } from './engine.js';
import { scriptJobSpec } from '../loader/script-job.js';

export interface EmbeddedEngineOptions {
  /** Scripts are resolved under this directory. @default process.cwd() */
  root?: string;
  /** The SQLite file, or ':memory:'. @default $MILLRACE_DB, else <root>/.millrace/millrace.db */
  db?: string;
  /** Jobs working at once; a job awaiting children does not count. @default CPU count */
  concurrency?: number;
  /** Executor threads. @default CPU count */
  threads?: number;
  /** Versions of the project's modules an executor thread may hold before it is replaced (see WorkerOptions.maxVersions). @default 50 */
  maxVersions?: number;
  /**
   * Whether this engine runs jobs. Without a worker it only submits and reads, and it
   * expects another process to write to the same file (the CLI's `jobs`, `logs`, `show`).
   * Without one, a file this process may not write is opened read-only.
   * @default true
   */
  worker?: boolean;
  /** Jobs the worker claims ahead of free slots (see WorkerOptions.prefetch). @default 4 × concurrency */
  prefetch?: number;
  /**
   * The base of resume URLs (approvals, getResumeUrls): the address of a server that answers
   * them on this engine's database. Unset, getResumeUrls throws: an embedded engine serves no URLs.
   */
  publicUrl?: string;
  /**
   * The engine's time: due times of sleeps and retries, leases, and the recorded start and end
   * times follow it. millrace/testing passes a clock the test moves. @default realClock
   */
  clock?: Clock;
  /** Priority aging: a job due this long ago is claimed before any priority (CoordinatorOptions.priorityAgingMs). @default 300000 */
  priorityAgingMs?: number;
}

/**
 * Store, coordinator and one worker serving every tag, in this process. The worker runs
 * only the runs this engine started.
 */
export class EmbeddedEngine implements Engine {
  readonly root: string;
  readonly store: SqliteStore;
  readonly coordinator: Coordinator;
  readonly worker: Worker | undefined;
  private readonly spans: LazyJobSpans | undefined;
  private readonly roots = new Set<string>();
  private readonly forgetting = new Set<Promise<void>>();

  constructor(options: EmbeddedEngineOptions = {}) {
    this.root = resolve(options.root ?? process.cwd());
    const runsJobs = options.worker ?? true;
    // An engine without a worker mostly reads (`jobs`, `logs`, `show`): a file this user may
    // not write is still readable then, and `cancel` gets a clear refusal.
    this.store = new SqliteStore({
      file: options.db ?? defaultDbFile(this.root),
      readOnlyWhenNotWritable: !runsJobs,
      clock: options.clock,
    });
    // Another process may write to the same file (`millrace cancel` from a second terminal):
    // waits also look at the store now and then, since its events do not reach this process.
    // With OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT set, a span per job it runs (docs/operations.md).
    this.spans = runsJobs ? lazyJobSpans(this.store, 'millrace') : undefined;
    this.coordinator = new Coordinator(this.store, {
      externalWritersPollMs: runsJobs ? 1000 : 200,
      publicUrl: options.publicUrl,
      clock: options.clock,
      priorityAgingMs: options.priorityAgingMs,
      observers: this.spans ? [this.spans.observer] : [],
    });
    this.worker = runsJobs
      ? new Worker({
          backend: this.coordinator,
          root: this.root,
          tags: 'all',
          rootJobs: this.roots,
          concurrency: options.concurrency ?? availableParallelism(),
          threads: options.threads,
          maxVersions: options.maxVersions,
          prefetch: options.prefetch,
          clock: options.clock,
        })
      : undefined;
  }

  async submit(request: SubmitRequest): Promise<JobRecord> {
    const spec = isFlowRequest(request, this.root)
      ? flowJobSpec(this.root, request)
      : scriptJobSpec(this.root, request);
    const id = newJobId();
    this.roots.add(id);
    const job = await this.coordinator.submit({
      ...spec,
      id,
      ...(request.timeout !== undefined && { timeout: request.timeout }),
    });
    if (job.id !== id) {
      // Its idempotency key was seen before: this is the job first submitted with it.
      this.roots.delete(id);
      return job;
    }
    const forgetting = this.forgetWhenDone(id);
    this.forgetting.add(forgetting);
    void forgetting.finally(() => this.forgetting.delete(forgetting));
    return job;
  }

  /**
   * Takes over a run whose process died (a killed `millrace run`): its running jobs go back to
   * the queue (recorded as `RELEASED`), and this engine's worker runs what is left. Jobs that
   * run again replay their recorded calls, so completed work is not done again. Only for runs
   * no live process is driving: their jobs would then run twice.
   */
  async resume(rootId: string): Promise<JobRecord> {
    const root = await this.store.get(rootId);
    if (!root) throw new UnknownJobError(rootId);
    if (root.parentJob !== null)
      throw new UnknownJobError(rootId, `it is not a run's root; its root is ${root.rootJob}`);
    this.roots.add(rootId);
    const at = this.coordinator.clock.now();
    const error = errorRecordOf(ReleasedError, 'its run was resumed by another process (millrace resume)');
    for (const job of [root, ...(await this.store.descendants(rootId))]) {
      if (job.status === 'running') await this.coordinator.release(job.id, error, at);
    }
    this.coordinator.wakeClaims();
    const forgetting = this.forgetWhenDone(rootId);
    this.forgetting.add(forgetting);
    void forgetting.finally(() => this.forgetting.delete(forgetting));
    return (await this.store.get(rootId))!;
  }

  wait(jobId: string, options: { signal?: AbortSignal } = {}): Promise<JobRecord> {
    return this.coordinator.waitFinished(jobId, options.signal);
  }

  get(jobId: string): Promise<JobRecord | undefined> {
    return this.store.get(jobId);
  }

  /** Runs this engine still has work in; each claim filters on them, so it must not grow. */
  get activeRuns(): number {
    return this.roots.size;
  }

  /** Resolves once every run this engine started has nothing left queued or running. */
  async drained(): Promise<void> {
    while (this.forgetting.size > 0) await Promise.all([...this.forgetting]);
  }

  /**
   * Drops a run from the set the worker claims from once nothing of it is left to run: the
   * root has finished and no descendant is queued or running (a child of a failed root may
   * still be at work).
   */
  private async forgetWhenDone(rootId: string): Promise<void> {
    try {
      await this.coordinator.waitFinished(rootId);
      for (;;) {
        const open = await this.store.list({ rootJob: rootId, status: ['queued', 'running'], limit: 1 });
        if (open.length === 0) break;
        await this.coordinator.waitFinished(open[0].id);
      }
      this.roots.delete(rootId);
    } catch {
      // The engine closed meanwhile: nothing left to forget.
    }
  }

  async resolveId(prefix: string): Promise<string> {
    const ids = await this.store.matchIds(prefix, 2);
    if (ids.length === 1) return ids[0];
    if (ids.length === 0) throw new UnknownJobError(prefix);
    throw new UnknownJobError(prefix, `it starts ${ids.join(', ')} and maybe more; give more characters`);
  }

  list(filter: JobFilter): Promise<JobRecord[]> {
    return this.store.list(filter);
  }

  async descendants(jobId: string): Promise<JobRecord[]> {
    if (!(await this.store.get(jobId))) throw new UnknownJobError(jobId);
    return this.store.descendants(jobId);
  }

  attempts(jobId: string): Promise<AttemptRecord[]> {
    return this.store.attempts(jobId);
  }

  logs(jobId: string, options: LogsOptions = {}): AsyncIterable<LogLine> {
    return this.coordinator.followLogs(jobId, options);
  }

  async signature(path: string): Promise<{ path: string; hash: string; signature: Signature }> {
    return pathSignature(this.root, path, () => {
      const script = resolveScript(this.root, path);
      return { path: script.path, hash: script.hash, signature: inferSignatureOfFile(script.file, script.hash) };
    });
  }

  async progress(jobId: string): Promise<Record<string, JobProgress>> {
    const descendants = await this.store.descendants(jobId);
    return Object.fromEntries(await this.store.listProgress([jobId, ...descendants.map((d) => d.id)]));
  }

  async flowStatus(jobId: string): Promise<Json | undefined> {
    return this.store.getFlowStatus(jobId);
  }

  async workers(): Promise<WorkerRecord[]> {
    if (!this.worker) return [];
    const now = Date.now();
    return [
      {
        id: this.worker.id,
        workspace: 'default',
        tags: 'all',
        hostname: hostname(),
        startedAt: now,
        lastSeen: now,
        jobs: this.worker.jobIds,
      },
    ];
  }

  sendEvent(jobId: string, name: string, payload: Json): Promise<EventSent> {
    return this.coordinator.sendEvent(jobId, checkEventName(name, 'sendEvent(jobId, name)'), payload);
  }

  queue(): Promise<QueueSummary> {
    return this.store.queue(DEFAULT_WORKSPACE);
  }

  cancel(jobId: string, reason: string): Promise<JobRecord[]> {
    return this.coordinator.cancel(jobId, { reason, by: 'embedded' });
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.coordinator.close();
    await this.spans?.close();
    await this.store.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
