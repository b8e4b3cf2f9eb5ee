/**
 * The glossary's second half: the records of operations (flow control, traces, schedules,
 * progress, the queue). types.ts re-exports each of them, type-only, so every import of
 * types.ts keeps working and types.ts still loads nothing at run time (the UI imports it).
 */
import type { JobStatus, Json } from './types.js';

/** A key as a task option: a string, or a function of the call's args that returns one. */
export type TaskKey<A extends unknown[] = never[]> = string | ((...args: A) => string);

export interface TaskConcurrency<A extends unknown[] = never[]> {
  /** Jobs of the key that may run at once (with `window`: that may start per window). A positive integer. */
  limit: number;
  /** @default the task's name */
  key?: TaskKey<A>;
  /** Seconds: turns the limit into "at most `limit` starts per window". */
  window?: number;
}

export interface TaskRateLimit<A extends unknown[] = never[]> {
  /** Starts allowed per `per` seconds. A positive integer. */
  limit: number;
  /** Seconds. */
  per: number;
  /** @default the task's name */
  key?: TaskKey<A>;
}

/**
 * Flow control of one job, as stored: keys already resolved. Limits and waits are enforced by
 * the store's claim, so they hold across every worker and server on one database.
 */
export interface FlowControl {
  /** @default 0 */
  priority?: number;
  concurrency?: { key: string; limit: number; windowMs?: number };
  rateLimit?: { key: string; limit: number; perMs: number };
  /** Milliseconds a recorded result of an equal call may be reused. */
  cacheTtlMs?: number;
}

/** The trace a run belongs to, when its caller gave one (W3C trace context): see docs/operations.md. */
export interface RunTrace {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** The caller's span, the parent of the root job's span: 16 lowercase hex digits. */
  parentSpanId: string;
}

/**
 * A schedule: a script or flow run at each slot of a cron expression. A slot is one time
 * the cron names (ms since the epoch); each slot runs once, whichever server fires it.
 */
export interface ScheduleRecord {
  id: string;
  workspace: string;
  /** Unique in its workspace; what the commands and routes take. */
  name: string;
  /** The script or flow path run at each slot. */
  path: string;
  /** Five fields, or six with seconds first. */
  cron: string;
  /** The IANA time zone the cron reads in, e.g. Europe/Paris. */
  timezone: string;
  /** The args of every run, by parameter name, encoded (serialisation contract). */
  args: Record<string, Json>;
  paused: boolean;
  createdAt: number;
  /** Slots after this time may run: the creation, or the last resume (slots while paused never run). */
  activeSince: number;
  /** The latest slot that ran, and its run; null before the first. */
  lastSlot: number | null;
  lastJob: string | null;
}

/** What creating a schedule takes; the store fills in the rest. */
export type NewSchedule = Pick<ScheduleRecord, 'workspace' | 'name' | 'path' | 'cron' | 'timezone' | 'args'>;

/** A schedule as the commands, routes and UI show it: its record, its next slot and its latest runs. */
export interface ScheduleView extends ScheduleRecord {
  /** The next slot it will run at; null when paused, or when the cron names no more. */
  nextSlot: number | null;
  /** Its latest runs, newest first (at most 5). */
  lastRuns: ScheduleRun[];
}

/** One run of a schedule, as a listing shows it. */
export interface ScheduleRun {
  id: string;
  status: JobStatus;
  createdAt: number;
}

/**
 * How far along a job says it is (`setProgress` inside the job; Windmill's job_metrics routes).
 * The last report stands; a job that never reported has none.
 */
export interface JobProgress {
  /** 0 to 100, a whole number. */
  percent: number;
  /** What the job is doing now, or null. */
  message: string | null;
  updatedAt: number;
}

/** What waits and runs, per tag and per flow-control key (`millrace queue`, `GET /api/w/{ws}/queue`). */
export interface QueueSummary {
  tags: { tag: string; queued: number; running: number }[];
  keys: QueueKey[];
}

/** A concurrency or rate key with unfinished jobs. */
export interface QueueKey {
  kind: 'concurrency' | 'rate';
  key: string;
  queued: number;
  running: number;
  /** The key's limit (the highest its jobs ask for). */
  limit: number;
  /** A concurrency window, in ms. */
  windowMs?: number;
  /** A rate limit's period, in ms. */
  perMs?: number;
  /** A rate key's earliest next start (epoch ms). */
  nextStart?: number;
}
