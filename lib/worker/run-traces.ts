import { jobTraceContext, type JobTraceContext } from '../tracing/ids.js';
export { tracingEnabled } from '../tracing/sdk.js';
import type { JobRecord, RunTrace } from '../types.js';
import type { WorkerBackend } from './backend.js';
import type { ExecutorThread } from './pool.js';
import type { RunRequest } from './protocol.js';

/** Runs whose recorded trace is remembered. */
const CACHE = 1000;

/**
 * With tracing on, each job's run request carries its span context (tracing/ids.ts), for which
 * the worker asks its backend once per run whether the run joined a caller's trace.
 */
export class RunTraces {
  private readonly known = new Map<string, RunTrace | null>();

  constructor(private readonly backend: Pick<WorkerBackend, 'getRunTrace'>) {}

  async contextFor(job: JobRecord): Promise<JobTraceContext> {
    let trace = this.known.get(job.rootJob);
    if (trace === undefined) {
      trace = (await this.backend.getRunTrace?.(job.rootJob)) ?? null;
      if (this.known.size >= CACHE) this.known.delete(this.known.keys().next().value!);
      this.known.set(job.rootJob, trace);
    }
    return jobTraceContext(job, trace ?? undefined);
  }
}

/** Sends a job to its thread; with tracing on, once its span context is known (a run without one runs untraced rather than not at all). */
export function sendRun(
  thread: ExecutorThread,
  request: RunRequest,
  job: JobRecord,
  traces: RunTraces | undefined,
): void {
  if (!traces) {
    thread.send({ type: 'run', job: request });
    return;
  }
  void traces
    .contextFor(job)
    .catch(() => undefined)
    .then((trace) => thread.send({ type: 'run', job: { ...request, ...(trace && { trace }) } }));
}
