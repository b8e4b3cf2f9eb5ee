/**
 * Schedules on the wire: Windmill's shapes (`/api/w/{ws}/schedules/...`), where a schedule's
 * `path` is its name, `schedule` its cron and `script_path` what it runs, plus millrace's
 * fields (next slot, last runs). Client (engine/http-schedules.ts) and server
 * (server/routes-schedules.ts) meet here.
 */
import type { Json, JobStatus, ScheduleView } from '../types.js';

/** The body of `POST /schedules/create` (Windmill's NewSchedule, the fields millrace reads). */
export interface NewScheduleBody {
  /** The schedule's name. */
  path: string;
  /** The cron expression. */
  schedule: string;
  /** @default 'UTC' */
  timezone?: string;
  script_path: string;
  is_flow?: boolean;
  args?: Record<string, Json>;
  /** Created paused when false. @default true */
  enabled?: boolean;
}

/** A schedule as `GET /schedules/list` and `/schedules/get/{name}` answer it. */
export interface WireSchedule {
  path: string;
  schedule: string;
  timezone: string;
  script_path: string;
  is_flow: boolean;
  args: Record<string, Json>;
  enabled: boolean;
  edited_at: string;
  /** millrace's: the next slot (ISO), null when paused. */
  next_fire: string | null;
  /** millrace's: the latest slot that ran (ISO) and its job. */
  last_slot: string | null;
  last_job: string | null;
  /** millrace's: the latest runs, newest first. */
  last_runs: { id: string; status: JobStatus; created_at: string }[];
  /** millrace's: the schedule's id (its slot keys are `schedule:<id>:<slot ms>`). */
  id: string;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function toWireSchedule(view: ScheduleView, isFlow: boolean): WireSchedule {
  return {
    path: view.name,
    schedule: view.cron,
    timezone: view.timezone,
    script_path: view.path,
    is_flow: isFlow,
    args: view.args,
    enabled: !view.paused,
    edited_at: new Date(view.activeSince).toISOString(),
    next_fire: iso(view.nextSlot),
    last_slot: iso(view.lastSlot),
    last_job: view.lastJob,
    last_runs: view.lastRuns.map((r) => ({
      id: r.id,
      status: r.status,
      created_at: new Date(r.createdAt).toISOString(),
    })),
    id: view.id,
  };
}

export function fromWireSchedule(wire: WireSchedule, workspace: string): ScheduleView {
  const ms = (s: string | null): number | null => (s === null ? null : Date.parse(s));
  return {
    id: wire.id,
    workspace,
    name: wire.path,
    path: wire.script_path,
    cron: wire.schedule,
    timezone: wire.timezone,
    args: wire.args,
    paused: !wire.enabled,
    createdAt: Date.parse(wire.edited_at),
    activeSince: Date.parse(wire.edited_at),
    lastSlot: ms(wire.last_slot),
    lastJob: wire.last_job,
    nextSlot: ms(wire.next_fire),
    lastRuns: wire.last_runs.map((r) => ({ id: r.id, status: r.status, createdAt: Date.parse(r.created_at) })),
  };
}
