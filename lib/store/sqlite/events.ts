import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { FINISHED_STATUSES, type EventRecord, type JobRecord, type JobStatus, type Json } from '../../types.js';
import { RESUME_SECRET, toEventRecord, type EventRow } from '../event-rows.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { EventDelivery } from '../store.js';

/**
 * The SQLite store's event statements (sendEvent, takeEvent, events) and its signing secret.
 * Writes run inside the store's tick transaction, so a send and a wait's take never interleave.
 */
export class SqliteEvents {
  private readonly job: Database.Statement;
  private readonly queuedWait: Database.Statement;
  private readonly finishWait: Database.Statement;
  private readonly insertEvent: Database.Statement;
  private readonly oldestKept: Database.Statement;
  private readonly takeKept: Database.Statement;
  private readonly all: Database.Statement;
  private readonly secretInsert: Database.Statement;
  private readonly secretGet: Database.Statement;

  constructor(db: Database.Database) {
    this.job = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.queuedWait = db.prepare(`
      SELECT id FROM jobs WHERE parent_job = @job AND kind = 'wait' AND entrypoint = @name AND status = 'queued'
      ORDER BY created_at, rowid LIMIT 1`);
    // A wait that takes its event is finished on the spot: no worker ever runs it.
    this.finishWait = db.prepare(`
      UPDATE jobs SET status = 'success', result = @payload, attempt = 1, started_at = @at, completed_at = @at, duration_ms = 0,
                      lease_until = NULL
      WHERE id = @id AND kind = 'wait' AND status = 'queued'
      RETURNING *`);
    this.insertEvent = db.prepare(`
      INSERT INTO events (job_id, name, payload, sent_at, wait_job) VALUES (@job, @name, @payload, @at, @wait)`);
    this.oldestKept = db.prepare(`
      SELECT seq, payload FROM events WHERE job_id = @job AND name = @name AND wait_job IS NULL ORDER BY seq LIMIT 1`);
    this.takeKept = db.prepare('UPDATE events SET wait_job = @wait WHERE seq = @seq');
    this.all = db.prepare('SELECT * FROM events WHERE job_id = ? ORDER BY seq');
    this.secretInsert = db.prepare(
      'INSERT INTO secrets (name, value, created_at) VALUES (@name, @value, @at) ON CONFLICT (name) DO NOTHING',
    );
    this.secretGet = db.prepare('SELECT value FROM secrets WHERE name = ?');
  }

  /** Inside a write. */
  send(jobId: string, name: string, payload: Json, at: number): EventDelivery {
    const row = this.job.get(jobId) as JobRow | undefined;
    if (!row) return { status: 'unknown' };
    if (FINISHED_STATUSES.includes(row.status as JobStatus)) return { status: 'finished', job: toJobRecord(row) };
    const text = JSON.stringify(payload);
    const wait = this.queuedWait.get({ job: jobId, name }) as { id: string } | undefined;
    const finished = wait && (this.finishWait.get({ id: wait.id, payload: text, at }) as JobRow | undefined);
    this.insertEvent.run({ job: jobId, name, payload: text, at, wait: finished ? finished.id : null });
    return finished ? { status: 'delivered', wait: toJobRecord(finished) } : { status: 'kept' };
  }

  /** Inside a write. */
  take(waitJobId: string, at: number): JobRecord | undefined {
    const wait = this.job.get(waitJobId) as JobRow | undefined;
    if (!wait || wait.kind !== 'wait' || wait.status !== 'queued' || wait.parent_job === null) return undefined;
    const kept = this.oldestKept.get({ job: wait.parent_job, name: wait.entrypoint }) as
      { seq: number; payload: string } | undefined;
    if (!kept) return undefined;
    const finished = this.finishWait.get({ id: waitJobId, payload: kept.payload, at }) as JobRow | undefined;
    if (!finished) return undefined;
    this.takeKept.run({ wait: waitJobId, seq: kept.seq });
    return toJobRecord(finished);
  }

  list(jobId: string): EventRecord[] {
    return (this.all.all(jobId) as EventRow[]).map(toEventRecord);
  }

  /** The stored secret, or undefined (a read-only store cannot make one). */
  secret(): string | undefined {
    return (this.secretGet.get(RESUME_SECRET) as { value: string } | undefined)?.value;
  }

  /** Inside a write: the first secret made stands. */
  makeSecret(at: number): string {
    this.secretInsert.run({ name: RESUME_SECRET, value: randomBytes(32).toString('hex'), at });
    return this.secret()!;
  }
}
