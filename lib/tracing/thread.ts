import type { JobTraceContext } from './ids.js';
import { openTracer, tracingEnabled } from './sdk.js';

// In an executor thread: a job's code runs inside its job's span context, so that the spans it
// makes (its own, or an instrumented HTTP client's) are children of the job's span. Threads have
// globals of their own, so each registers its own tracer provider.

let api: typeof import('@opentelemetry/api') | undefined;

/** At the thread's boot: when tracing is on, loads the SDK and registers it for this thread. */
export async function startThreadTracing(): Promise<void> {
  if (!tracingEnabled()) return;
  [api] = await Promise.all([
    import('@opentelemetry/api'),
    openTracer({ serviceName: 'millrace-worker', register: true, batch: false }),
  ]);
}

/** Runs `fn` with the job's span as the active span; as is when tracing is off. */
export function inJobSpan<T>(trace: JobTraceContext | undefined, fn: () => T): T {
  if (!api || !trace) return fn();
  const context = api.trace.setSpanContext(api.context.active(), {
    ...trace,
    traceFlags: api.TraceFlags.SAMPLED,
    isRemote: true,
  });
  return api.context.with(context, fn);
}
