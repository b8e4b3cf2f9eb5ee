import type pg from 'pg';
import type { ErrorRecord, JobRecord, Outcome } from '../../types.js';
import { outcomeColumns, toJobRecord, type JobRow } from '../rows.js';
import type { HeldLease } from '../store.js';
import type { Change } from './notifications.js';
import { rowCount } from './query.js';
import {
  COMPLETE_BATCH_SQL,
  COMPLETE_WITH_ATTEMPT_SQL,
  MARK_STARTED_BATCH_SQL,
  MARK_STARTED_SQL,
  RETRY_SQL,
} from './sql.js';
import { TickStatement } from './tick-statement.js';

// The PostgreSQL store's writes of a claimed job: started, leases renewed, finished, retried.
// Each is one statement (one round trip); its change is announced after it commits. Starts and
// ends are made a tick at a time (tick-statement.ts): a fan-out's 1,000 children that start or
// end in one tick are one statement and, for the ends, one durable commit.

interface Start {
  jobId: string;
  at: number;
  held?: HeldLease;
}

interface End {
  jobId: string;
  status: Outcome['status'];
  result: string | null;
  error: string | null;
  at: number;
  startedAt: number | null;
  held?: HeldLease;
}

/** A lease's three parameters (lifecycle statements' last three), nulls for none. */
function leaseValues(held: HeldLease | undefined): [string | null, number | null, string | null] {
  return held ? [held.workerId, held.attempt, held.workspace] : [null, null, null];
}

/** The lease parameters of many writes, a column each. */
function leaseColumns(items: readonly { held?: HeldLease }[]): unknown[][] {
  const leases = items.map((i) => leaseValues(i.held));
  return [0, 1, 2].map((c) => leases.map((l) => l[c]));
}

/** Starts and ends of jobs, each a statement per tick for all the jobs of the tick; named, planned once (url.ts). */
export class JobLifecycle {
  private readonly starts: TickStatement<Start, boolean>;
  private readonly ends: TickStatement<End, JobRow | undefined>;

  constructor(
    pool: pg.Pool,
    private readonly announce: (change: Change) => void,
  ) {
    this.starts = new TickStatement(
      async ({ jobId, at, held }) =>
        rowCount(
          await pool.query({
            name: 'millrace-started',
            text: MARK_STARTED_SQL,
            values: [jobId, at, ...leaseValues(held)],
          }),
        ) > 0,
      async (items) => {
        const { rows } = await pool.query<{ id: string }>({
          name: 'millrace-started-batch',
          text: MARK_STARTED_BATCH_SQL,
          values: [items.map((i) => i.jobId), items.map((i) => i.at), ...leaseColumns(items)],
        });
        const started = new Set(rows.map((r) => r.id));
        return items.map((i) => started.has(i.jobId));
      },
    );
    const endAlone = async (e: End) =>
      (
        await pool.query<JobRow>({
          name: 'millrace-end',
          text: COMPLETE_WITH_ATTEMPT_SQL,
          values: [e.jobId, e.status, e.result, e.error, e.at, e.startedAt, ...leaseValues(e.held)],
        })
      ).rows[0];
    this.ends = new TickStatement(endAlone, async (items) => {
      // A job ended twice in one tick: its first end goes in the statement, and the later
      // ones change nothing, as one statement each would have it (the first end stands).
      const seen = new Set<string>();
      const first = new Set(items.filter((e) => !seen.has(e.jobId) && seen.add(e.jobId)));
      const column = <K extends keyof End>(k: K) => [...first].map((e) => e[k]);
      const { rows } = await pool.query<JobRow>({
        name: 'millrace-end-batch',
        text: COMPLETE_BATCH_SQL,
        values: [
          column('jobId'),
          column('status'),
          column('result'),
          column('error'),
          column('at'),
          column('startedAt'),
          ...leaseColumns([...first]),
        ],
      });
      const byId = new Map(rows.map((r) => [r.id, r]));
      return items.map((e) => (first.has(e) ? byId.get(e.jobId) : undefined));
    });
  }

  async markStarted(jobId: string, at: number, held?: HeldLease): Promise<boolean> {
    const started = await this.starts.run({ jobId, at, held });
    if (started) this.announce({ k: 's', ids: [jobId] });
    return started;
  }

  async finish(
    jobId: string,
    outcome: Outcome,
    at: number,
    startedAt?: number,
    held?: HeldLease,
  ): Promise<JobRecord | undefined> {
    const row = await this.ends.run({
      jobId,
      status: outcome.status,
      ...outcomeColumns(outcome),
      at,
      startedAt: startedAt ?? null,
      held,
    });
    if (!row) return undefined;
    this.announce({ k: 'f', ids: [jobId] });
    // A slot of its concurrency key is free: other servers' claims look again.
    if (row.concurrency_key) this.announce({ k: 'q', due: at });
    return toJobRecord(row);
  }
}

/** Renews the leases the worker still holds; returns the ids it no longer holds. */
export async function renewLeases(
  pool: pg.Pool,
  workerId: string,
  jobIds: readonly string[],
  leaseUntil: number,
): Promise<string[]> {
  // The rows locked in id order, as the batched starts and ends lock theirs (sql.ts).
  const { rows } = await pool.query<{ id: string }>(
    `WITH locked AS (SELECT id FROM jobs WHERE id = ANY($2::text[]) ORDER BY id FOR UPDATE)
     UPDATE jobs j SET lease_until = $3 FROM locked l
     WHERE j.id = l.id AND j.worker = $1 AND j.status = 'running' RETURNING j.id`,
    [workerId, [...jobIds], leaseUntil],
  );
  const mine = new Set(rows.map((r) => r.id));
  return jobIds.filter((id) => !mine.has(id));
}

export async function retry(
  pool: pg.Pool,
  announce: (change: Change) => void,
  jobId: string,
  error: ErrorRecord,
  scheduledFor: number,
  at: number,
): Promise<JobRecord | undefined> {
  const { rows } = await pool.query<JobRow>(RETRY_SQL, [jobId, scheduledFor, JSON.stringify(error), at]);
  if (!rows[0]) return undefined;
  announce({ k: 'q', due: scheduledFor });
  return toJobRecord(rows[0]);
}
