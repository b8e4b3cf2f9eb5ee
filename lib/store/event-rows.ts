import type { EventRecord, Json } from '../types.js';

/** An `events` row, as both stores read it (PostgreSQL's BIGINT may come back as text). */
export interface EventRow {
  job_id: string;
  name: string;
  payload: string;
  sent_at: number | string;
  wait_job: string | null;
}

export function toEventRecord(row: EventRow): EventRecord {
  return {
    jobId: row.job_id,
    name: row.name,
    payload: JSON.parse(row.payload) as Json,
    sentAt: typeof row.sent_at === 'number' ? row.sent_at : Number(row.sent_at),
    waitJob: row.wait_job,
  };
}

/** The name under which the resume-URL signing key is kept in the `secrets` table. */
export const RESUME_SECRET = 'resume-urls';
