import type { Json, ScheduleRecord } from '../types.js';

/** A schedules row as both stores return it (PostgreSQL's BIGINTs come back as strings). */
export interface ScheduleRow {
  id: string;
  workspace: string;
  name: string;
  path: string;
  cron: string;
  timezone: string;
  args: string;
  paused: number | boolean;
  created_at: number | string;
  active_since: number | string;
  last_slot: number | string | null;
  last_job: string | null;
}

export function toScheduleRecord(row: ScheduleRow): ScheduleRecord {
  return {
    id: row.id,
    workspace: row.workspace,
    name: row.name,
    path: row.path,
    cron: row.cron,
    timezone: row.timezone,
    args: JSON.parse(row.args) as Record<string, Json>,
    paused: row.paused === true || row.paused === 1,
    createdAt: Number(row.created_at),
    activeSince: Number(row.active_since),
    lastSlot: row.last_slot === null ? null : Number(row.last_slot),
    lastJob: row.last_job,
  };
}
