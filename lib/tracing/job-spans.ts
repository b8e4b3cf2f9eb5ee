import type { Store } from '../store/store.js';
import { jobName, type JobRecord, type RunTrace } from '../types.js';
import { jobTraceContext, spanIdOf } from './ids.js';
import { openTracer, type ChosenIds, type OpenTracer } from './sdk.js';

/**
 * What JobSpans needs to hear (a CoordinatorObserver's `finished`, said here so that tracing/
 * imports nothing of engine/).
 */
export interface JobEndObserver {
  finished(job: JobRecord): void;
}

/** Runs whose recorded trace is remembered (a run's jobs end close together). */
const RUN_TRACE_CACHE = 1000;

/**
 * One span per job, made when the job has finished for good (the Coordinator tells it), with the
 * job's own times: ids made from job ids (ids.ts), so a job's span is the child of its parent
 * job's span and a run is one trace, whichever process ran what. A run submitted with a
 * traceparent is in the caller's trace, its root under the caller's span. Each failed attempt
 * before the last is an event (`retry`, or `lease expired` / `released`).
 */
export class JobSpans {
  /** The observer to give the Coordinator. */
  readonly observer: JobEndObserver;
  private readonly runTraces = new Map<string, RunTrace | null>();
  private readonly pending = new Set<Promise<void>>();

  private constructor(
    private readonly store: Store,
    private readonly api: typeof import('@opentelemetry/api'),
    private readonly open: OpenTracer,
    private readonly ids: ChosenIds,
  ) {
    this.observer = { finished: (job) => this.track(this.record(job)) };
  }

  /** Loads the SDK (only now: see sdk.ts) and starts exporting. */
  static async open(store: Store, serviceName: string): Promise<JobSpans> {
    const ids: ChosenIds = { next: undefined };
    const [api, open] = await Promise.all([
      import('@opentelemetry/api'),
      openTracer({ serviceName, register: false, batch: true, ids }),
    ]);
    return new JobSpans(store, api, open, ids);
  }

  /**
   * Waits for the spans being made, exports them and stops. A collector that cannot be reached
   * is said on stderr, and is not the run's failure.
   */
  async close(): Promise<void> {
    await Promise.all(this.pending);
    try {
      await this.open.shutdown();
    } catch (err) {
      console.error(`millrace: could not export the last spans: ${(err as Error).message}`);
    }
  }

  private track(work: Promise<void>): void {
    const tracked = work
      .catch((err: unknown) => console.error(`millrace: could not make the span of a job: ${(err as Error).message}`))
      .finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }

  private async record(job: JobRecord): Promise<void> {
    const { api } = this;
    const runTrace = await this.runTraceOf(job.rootJob);
    const attempts = job.attempt > 1 ? await this.store.attempts(job.id) : [];
    const own = jobTraceContext(job, runTrace);
    const parentSpanId = job.parentJob ? spanIdOf(job.parentJob) : runTrace?.parentSpanId;
    const parent = parentSpanId
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: own.traceId,
          spanId: parentSpanId,
          traceFlags: api.TraceFlags.SAMPLED,
          isRemote: true,
        })
      : api.ROOT_CONTEXT;
    // The SDK asks the id generator for the new span's ids inside startSpan: these are the job's.
    this.ids.next = own;
    const span = this.open.tracer.startSpan(
      jobName(job),
      {
        startTime: job.startedAt ?? job.createdAt,
        attributes: {
          'millrace.job.id': job.id,
          'millrace.job.path': job.path,
          'millrace.job.kind': job.kind,
          'millrace.job.tag': job.tag,
          'millrace.job.attempt': job.attempt,
          'millrace.job.status': job.status,
          'millrace.job.script': job.scriptPath,
          'millrace.job.queued_at': job.createdAt,
        },
      },
      parent,
    );
    this.ids.next = undefined;
    for (const a of attempts.slice(0, -1)) {
      const name =
        a.error?.code === 'LEASE_EXPIRED' ? 'lease expired' : a.error?.code === 'RELEASED' ? 'released' : 'retry';
      span.addEvent(
        name,
        { 'millrace.attempt': a.attempt, 'millrace.worker': a.worker, 'error.message': a.error?.message ?? '' },
        a.completedAt ?? a.claimedAt,
      );
    }
    if (job.status !== 'success')
      span.setStatus({
        code: api.SpanStatusCode.ERROR,
        message: job.error ? `${job.error.name}: ${job.error.message}` : job.status,
      });
    span.end(job.completedAt ?? Date.now());
  }

  private async runTraceOf(rootJob: string): Promise<RunTrace | undefined> {
    const known = this.runTraces.get(rootJob);
    if (known !== undefined) return known ?? undefined;
    const found = await this.store.getRunTrace(rootJob);
    if (this.runTraces.size >= RUN_TRACE_CACHE) this.runTraces.delete(this.runTraces.keys().next().value!);
    this.runTraces.set(rootJob, found ?? null);
    return found;
  }
}
