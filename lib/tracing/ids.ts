import { createHash } from 'node:crypto';
import { TraceparentError } from '../errors-operations.js';
import type { RunTrace } from '../types.js';

/**
 * Trace and span ids of jobs, made from their job ids: every process (the server that records a
 * job's end, the worker thread whose code runs inside it) names a job's span alike without
 * telling the others, so a child's span finds its parent's wherever each was made.
 */

/** The span id of a job: 16 hex digits. */
export function spanIdOf(jobId: string): string {
  return createHash('sha256').update(`millrace.span:${jobId}`).digest('hex').slice(0, 16);
}

/** The trace id of a run that no caller's trace was given for: 32 hex digits, from its root job. */
export function traceIdOf(rootJob: string): string {
  return createHash('sha256').update(`millrace.trace:${rootJob}`).digest('hex').slice(0, 32);
}

/** Where a job's span sits: its trace, its own span id. */
export interface JobTraceContext {
  traceId: string;
  spanId: string;
}

/** A job's trace context, given its run's recorded trace (a traceparent at submission) if any. */
export function jobTraceContext(job: { id: string; rootJob: string }, runTrace: RunTrace | undefined): JobTraceContext {
  return { traceId: runTrace?.traceId ?? traceIdOf(job.rootJob), spanId: spanIdOf(job.id) };
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * A W3C `traceparent` header (`00-<trace id>-<parent span id>-<flags>`) as a RunTrace. A header
 * of another shape, or with an all-zero id, is a TraceparentError saying what was expected.
 */
export function parseTraceparent(header: string): RunTrace {
  const m = TRACEPARENT.exec(header.trim());
  if (!m || m[1] === 'ff' || /^0+$/.test(m[2]) || /^0+$/.test(m[3])) {
    throw new TraceparentError(
      `traceparent: expected 00-<32 hex digits, not all zero>-<16 hex digits, not all zero>-<2 hex digits> (W3C trace context), got ${JSON.stringify(header.slice(0, 100))}`,
    );
  }
  return { traceId: m[2], parentSpanId: m[3] };
}
