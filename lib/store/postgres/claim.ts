import type pg from 'pg';
import type { JobRecord, QueueSummary } from '../../types.js';
import { agedBefore, queueKeys, type CountRow } from '../flow-control.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { ClaimRequest } from '../store.js';
import type { Change } from './notifications.js';
import { AGED_CLAIM_SQL, CLAIM_SQL } from './sql.js';

/**
 * A claim on PostgreSQL, where servers claim concurrently. Two paths, one round trip each:
 *
 * - Plain (the common case, CLAIM_SQL): the first due rows are locked FOR UPDATE SKIP LOCKED
 *   and taken, provided none of them has a concurrency or rate key.
 * - Keyed (when one has): the function `millrace_claim_keyed` (store/keyed-claim-function.ts)
 *   locks its candidate rows, then takes one advisory transaction lock per key (sorted, so
 *   two claims never wait on each other in a cycle), and only then, in its next statement
 *   (a new snapshot), counts each key's running jobs, recent starts and next rate start, and
 *   admits. Why advisory locks and not the rows: a statement's snapshot is taken when it
 *   starts, so counts read in the statement that locks would miss a claim that commits
 *   meanwhile; counts read in a later statement, after the key's lock, see every claim of the
 *   key that committed before (a claim holds the key's lock until its commit). Counting the
 *   jobs table keeps no counter that every way a job ends (finish, retry, cancel, lost lease)
 *   would have to keep right.
 */
/** What a store remembers between claims: whether the last one met keyed jobs. */
export interface ClaimMemo {
  keyed: boolean;
  /** Whether the last plain claim met an aged job (priority aging). */
  aged?: boolean;
}

/** The keyed claim's one row (keyed-claim-function.ts). */
interface KeyedClaimRow {
  claimed_jobs: JobRow[];
  deferred_until: string | null;
  keyed: boolean | null;
}

export async function claimJobs(
  pool: pg.Pool,
  announce: (change: Change) => void,
  request: ClaimRequest,
  now: number,
  memo: ClaimMemo,
): Promise<JobRecord[]> {
  const scope = [
    now,
    request.tags === 'all',
    request.tags === 'all' ? [] : [...request.tags],
    request.rootJobs ? [...request.rootJobs] : null,
    request.workspace ?? null,
  ];
  const aged = agedBefore(now, request.priorityAgingMs);
  // While keyed jobs are about, the plain statements would only find them and take nothing: a
  // claim after one that met keys goes straight to the keyed function (one round trip less).
  // Likewise, while aged jobs are about (priority aging), straight to the statement that puts
  // them first.
  for (let tries = 0; !memo.keyed && tries < 2; tries++) {
    // Unnamed, so planned for each execution's values (url.ts): a generic plan, blind to the
    // LIMIT and the due time, reads the whole queue.
    const { rows } = await pool.query<JobRow & { keyed_found: boolean; aged_found: boolean }>({
      text: memo.aged ? AGED_CLAIM_SQL : CLAIM_SQL,
      values: [...scope, request.limit, request.workerId, now + request.leaseMs, aged],
    });
    const head = rows[0];
    if (head.keyed_found) {
      memo.keyed = true;
      break;
    }
    const wasAged = memo.aged;
    memo.aged = head.aged_found;
    // CLAIM_SQL takes nothing when it sees an aged job: once more, with AGED_CLAIM_SQL.
    if (wasAged || !memo.aged) return rows.filter((r) => r.id !== null).map(toJobRecord);
  }
  // Enough rows to reach past a key at its limit, few enough that locking them stays cheap
  // (each is a row lock written; 100 made a keyed claim 20% dearer than 32): a claim held up
  // by more blocked jobs than this takes the ones behind them once the keys free up.
  const page = Math.max(request.limit * 4, 32);
  const { rows } = await pool.query<KeyedClaimRow>(
    'SELECT * FROM millrace_claim_keyed($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
    [...scope, page, request.limit, request.workerId, now + request.leaseMs, aged],
  );
  const { claimed_jobs: claimed, deferred_until: deferred, keyed } = rows[0];
  // A claim of an empty queue keeps the memo: a sequence of keyed calls, one at a time, would
  // otherwise pay the plain statement before each keyed claim.
  if (keyed !== null) memo.keyed = keyed;
  if (deferred !== null) {
    // Committed: other servers' claims wake at the due time too.
    announce({ k: 'q', due: Number(deferred) });
    request.onDeferred?.(Number(deferred));
  }
  return claimed.map(toJobRecord);
}

/** Queued and running counts per tag and per key. */
export async function queueSummary(pool: pg.Pool, workspace: string): Promise<QueueSummary> {
  const [tags, concurrency, rate] = await Promise.all([
    pool.query<CountRow>(
      `SELECT tag AS name, count(*) FILTER (WHERE status = 'queued') AS queued, count(*) FILTER (WHERE status = 'running') AS running
       FROM jobs WHERE workspace = $1 AND status IN ('queued', 'running') GROUP BY tag ORDER BY tag`,
      [workspace],
    ),
    pool.query<CountRow>(
      `SELECT concurrency_key AS name, count(*) FILTER (WHERE status = 'queued') AS queued, count(*) FILTER (WHERE status = 'running') AS running,
              max(concurrency_limit) AS lim, max(concurrency_window_ms) AS window_ms
       FROM jobs WHERE workspace = $1 AND concurrency_key IS NOT NULL AND status IN ('queued', 'running')
       GROUP BY concurrency_key ORDER BY concurrency_key`,
      [workspace],
    ),
    pool.query<CountRow>(
      `SELECT j.rate_key AS name, count(*) FILTER (WHERE j.status = 'queued') AS queued, count(*) FILTER (WHERE j.status = 'running') AS running,
              max(j.rate_limit) AS lim, max(j.rate_per_ms) AS per_ms, max(r.next_start) AS next_start
       FROM jobs j LEFT JOIN rate_limits r ON r.workspace = j.workspace AND r.key = j.rate_key
       WHERE j.workspace = $1 AND j.rate_key IS NOT NULL AND j.status IN ('queued', 'running')
       GROUP BY j.rate_key ORDER BY j.rate_key`,
      [workspace],
    ),
  ]);
  return {
    tags: tags.rows.map((r) => ({ tag: r.name, queued: Number(r.queued), running: Number(r.running) })),
    keys: queueKeys(concurrency.rows, rate.rows),
  };
}
