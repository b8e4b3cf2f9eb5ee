import type Database from 'better-sqlite3';
import { ScheduleExistsError } from '../../errors-operations.js';
import { newJobId } from '../../ids.js';
import { slotKeyPrefix } from '../../schedule/slot-key.js';
import type { JobRecord, NewSchedule, ScheduleRecord } from '../../types.js';
import { toJobRecord, type JobRow } from '../rows.js';
import { toScheduleRecord, type ScheduleRow } from '../schedule-rows.js';

/** The SQLite store's schedule statements. Writes are run by the store inside its tick's transaction. */
export class SqliteSchedules {
  private readonly insert: Database.Statement;
  private readonly byName: Database.Statement;
  private readonly all: Database.Statement;
  private readonly inWorkspace: Database.Statement;
  private readonly pause: Database.Statement;
  private readonly remove: Database.Statement;
  private readonly slot: Database.Statement;
  private readonly runs: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`
      INSERT INTO schedules (id, workspace, name, path, cron, timezone, args, paused, created_at, active_since)
      VALUES (@id, @workspace, @name, @path, @cron, @timezone, @args, 0, @at, @at) ON CONFLICT DO NOTHING RETURNING *`);
    this.byName = db.prepare('SELECT * FROM schedules WHERE workspace = ? AND name = ?');
    this.all = db.prepare('SELECT * FROM schedules ORDER BY workspace, name');
    this.inWorkspace = db.prepare('SELECT * FROM schedules WHERE workspace = ? ORDER BY name');
    // A resume starts the schedule afresh: slots while it was paused never run.
    this.pause = db.prepare(`
      UPDATE schedules SET paused = @paused, active_since = CASE WHEN paused = 1 AND @paused = 0 THEN @at ELSE active_since END
      WHERE workspace = @workspace AND name = @name RETURNING *`);
    this.remove = db.prepare('DELETE FROM schedules WHERE workspace = ? AND name = ?');
    this.slot = db.prepare(
      'UPDATE schedules SET last_slot = @slot, last_job = @job WHERE id = @id AND (last_slot IS NULL OR last_slot < @slot)',
    );
    // Slot keys sort by text, not time: order by creation.
    this.runs = db.prepare(`
      SELECT * FROM jobs WHERE workspace = @workspace AND idempotency_key >= @lo AND idempotency_key < @hi
      ORDER BY created_at DESC, rowid DESC LIMIT @limit`);
  }

  create(schedule: NewSchedule, at: number): ScheduleRecord {
    const row = this.insert.get({ id: newJobId(), ...schedule, args: JSON.stringify(schedule.args), at }) as
      ScheduleRow | undefined;
    if (!row) throw new ScheduleExistsError(schedule.name);
    return toScheduleRecord(row);
  }

  get(workspace: string, name: string): ScheduleRecord | undefined {
    const row = this.byName.get(workspace, name) as ScheduleRow | undefined;
    return row && toScheduleRecord(row);
  }

  list(workspace: string | undefined): ScheduleRecord[] {
    const rows = (workspace === undefined ? this.all.all() : this.inWorkspace.all(workspace)) as ScheduleRow[];
    return rows.map(toScheduleRecord);
  }

  setPaused(workspace: string, name: string, paused: boolean, at: number): ScheduleRecord | undefined {
    const row = this.pause.get({ workspace, name, paused: paused ? 1 : 0, at }) as ScheduleRow | undefined;
    return row && toScheduleRecord(row);
  }

  delete(workspace: string, name: string): boolean {
    return this.remove.run(workspace, name).changes > 0;
  }

  recordSlot(scheduleId: string, slot: number, jobId: string): void {
    this.slot.run({ id: scheduleId, slot, job: jobId });
  }

  lastRuns(schedule: ScheduleRecord, limit: number): JobRecord[] {
    const lo = slotKeyPrefix(schedule.id);
    const rows = this.runs.all({ workspace: schedule.workspace, lo, hi: `${lo}\uffff`, limit }) as JobRow[];
    return rows.map(toJobRecord);
  }
}
