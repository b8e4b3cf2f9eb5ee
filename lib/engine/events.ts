import { UnknownJobError } from '../errors.js';
import { JobFinishedError } from '../errors-operations.js';
import { checkValueSize } from '../limits.js';
import type { Store } from '../store/store.js';
import { type EventSent, type JobRecord, type JobSpec, type Json, NEVER_DUE } from '../types.js';
import type { Hub } from './hub.js';

/**
 * Events sent to jobs, and the wait children that take them. The store decides who gets an
 * event, in one transaction (see Store.sendEvent); this file turns its answer into errors and
 * Hub events, so that the parent awaiting a wait wakes.
 */

/** Sends an event to a job at `now` (the engine's clock): delivered to its waiting wait of that name, else kept for the next. */
export async function sendEvent(
  store: Store,
  hub: Hub,
  jobId: string,
  name: string,
  payload: Json,
  now: number,
  what = `the event "${name}"`,
): Promise<EventSent> {
  checkValueSize(payload, `The payload of event "${name}" for job ${jobId}`);
  const delivery = await store.sendEvent(jobId, name, payload, now);
  switch (delivery.status) {
    case 'unknown':
      throw new UnknownJobError(jobId);
    case 'finished':
      throw new JobFinishedError(jobId, delivery.job.status, what);
    case 'kept':
      return { status: 'kept', waitJob: null };
    case 'delivered':
      hub.emit(`finished:${delivery.wait.id}`, delivery.wait);
      return { status: 'delivered', waitJob: delivery.wait.id };
  }
}

/** A wait without a timeout is due never: only its event (or a cancel) ends it. */
export function waitDue(spec: JobSpec): JobSpec {
  if (spec.kind !== 'wait' || spec.delayMs !== undefined || spec.scheduledFor !== undefined) return spec;
  return { ...spec, scheduledFor: NEVER_DUE };
}

/** A wait just queued takes the event kept for it, if one came first; the finished wait, or undefined. */
export async function takeKeptEvent(
  store: Store,
  hub: Hub,
  wait: JobRecord,
  now: number,
): Promise<JobRecord | undefined> {
  const taken = await store.takeEvent(wait.id, now);
  if (taken) hub.emit(`finished:${taken.id}`, taken);
  return taken;
}
