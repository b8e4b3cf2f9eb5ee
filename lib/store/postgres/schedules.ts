import type pg from 'pg';
import { ScheduleExistsError } from '../../errors-operations.js';
import { newJobId } from '../../ids.js';
import { slotKeyPrefix } from '../../schedule/slot-key.js';
import type { JobRecord, NewSchedule, ScheduleRecord } from '../../types.js';
import { toJobRecord, type JobRow } from '../rows.js';
import { toScheduleRecord, type ScheduleRow } from '../schedule-rows.js';

/** The PostgreSQL store's schedule verbs, over its pool (each one statement). */
export class PgSchedules {
  constructor(private readonly pool: pg.Pool) {}

  async create(schedule: NewSchedule, at: number): Promise<ScheduleRecord> {
    const { rows } = await this.pool.query<ScheduleRow>(
      `INSERT INTO schedules (id, workspace, name, path, cron, timezone, args, paused, created_at, active_since)
       VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $8) ON CONFLICT DO NOTHING RETURNING *`,
      [
        newJobId(),
        schedule.workspace,
        schedule.name,
        schedule.path,
        schedule.cron,
        schedule.timezone,
        JSON.stringify(schedule.args),
        at,
      ],
    );
    if (!rows[0]) throw new ScheduleExistsError(schedule.name);
    return toScheduleRecord(rows[0]);
  }

  async get(workspace: string, name: string): Promise<ScheduleRecord | undefined> {
    const { rows } = await this.pool.query<ScheduleRow>('SELECT * FROM schedules WHERE workspace = $1 AND name = $2', [
      workspace,
      name,
    ]);
    return rows[0] && toScheduleRecord(rows[0]);
  }

  async list(workspace: string | undefined): Promise<ScheduleRecord[]> {
    const { rows } = await this.pool.query<ScheduleRow>(
      'SELECT * FROM schedules WHERE $1::text IS NULL OR workspace = $1 ORDER BY workspace, name',
      [workspace ?? null],
    );
    return rows.map(toScheduleRecord);
  }

  async setPaused(workspace: string, name: string, paused: boolean, at: number): Promise<ScheduleRecord | undefined> {
    // A resume starts the schedule afresh: slots while it was paused never run.
    const { rows } = await this.pool.query<ScheduleRow>(
      `UPDATE schedules SET paused = $3, active_since = CASE WHEN paused AND NOT $3 THEN $4 ELSE active_since END
       WHERE workspace = $1 AND name = $2 RETURNING *`,
      [workspace, name, paused, at],
    );
    return rows[0] && toScheduleRecord(rows[0]);
  }

  async delete(workspace: string, name: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('DELETE FROM schedules WHERE workspace = $1 AND name = $2', [
      workspace,
      name,
    ]);
    return (rowCount ?? 0) > 0;
  }

  async recordSlot(scheduleId: string, slot: number, jobId: string): Promise<void> {
    await this.pool.query(
      'UPDATE schedules SET last_slot = $2, last_job = $3 WHERE id = $1 AND (last_slot IS NULL OR last_slot < $2)',
      [scheduleId, slot, jobId],
    );
  }

  async lastRuns(schedule: ScheduleRecord, limit: number): Promise<JobRecord[]> {
    const { rows } = await this.pool.query<JobRow>(
      'SELECT * FROM jobs WHERE workspace = $1 AND starts_with(idempotency_key, $2) ORDER BY created_at DESC, seq DESC LIMIT $3',
      [schedule.workspace, slotKeyPrefix(schedule.id), limit],
    );
    return rows.map(toJobRecord);
  }
}
