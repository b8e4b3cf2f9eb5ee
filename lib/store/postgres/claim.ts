import type pg from 'pg';
import type { JobRecord, QueueSummary } from '../../types.js';
import {
  admit,
  agedBefore,
  isKeyed,
  keyId,
  queueKeys,
  type Candidate,
  type CountRow,
  type KeyStates,
} from '../flow-control.js';
import { toJobRecord, type JobRow } from '../rows.js';
import type { ClaimRequest } from '../store.js';
import type { Change } from './notifications.js';
import { transaction } from './query.js';
import { CLAIM_SQL, claimOrder, dueCtes } from './sql.js';

/**
 * A claim on PostgreSQL, where servers claim concurrently. Two paths:
 *
 * - Plain (the common case, one statement, CLAIM_SQL): the first due rows are locked FOR
 *   UPDATE SKIP LOCKED and taken, provided none of them has a concurrency or rate key.
 * - Keyed (when one has): a transaction that locks its candidate rows, then takes one advisory
 *   transaction lock per key (sorted, so two claims never wait on each other in a cycle), and
 *   only then counts each key's running jobs, recent starts and next rate start. Why advisory
 *   locks and not the rows: a statement's snapshot is taken when it starts, so counts read in
 *   the statement that locks would miss a claim that commits meanwhile; counts read in a later
 *   statement, after the key's lock, see every claim of the key that committed before (a
 *   claim holds the key's lock until its commit). Counting the jobs table keeps no counter
 *   that every way a job ends (finish, retry, cancel, lost lease) would have to keep right.
 */
/** What a store remembers between claims: whether the last one met keyed jobs. */
export interface ClaimMemo {
  keyed: boolean;
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
  // While keyed jobs are about, the plain statement would only find them and take nothing: a
  // claim after one that met keys goes straight to the keyed transaction (one round trip less).
  if (!memo.keyed) {
    const { rows } = await pool.query<JobRow & { keyed_found: boolean }>(CLAIM_SQL, [
      ...scope,
      request.limit,
      request.workerId,
      now + request.leaseMs,
      aged,
    ]);
    if (!rows.some((r) => r.keyed_found)) return rows.filter((r) => r.id !== null).map(toJobRecord);
  }
  // Three statements: the candidates locked with their keys' locks, the keys' state, the writes.
  return transaction(pool, announce, async (tx, notify) => {
    // Enough rows to reach past a key at its limit, few enough that locking them stays cheap:
    // a claim held up by more blocked jobs than this takes the ones behind them at a later claim.
    const page = Math.max(request.limit * 4, 100);
    const { rows: due } = await tx.query<Candidate>(KEYED_CANDIDATES_SQL, [...scope, page, aged]);
    memo.keyed = due.some(isKeyed);
    const ckeys = uniqueKeys(due, (c) => c.concurrency_key);
    const rkeys = uniqueKeys(due, (c) => c.rate_key);
    const states = await loadStates(tx, ckeys, rkeys, due, now);
    const decided = admit(due, states, now, request.limit);
    const rate = [...decided.rateNext].map(([k, next]) => [...k.split('\0'), next] as const);
    const { rows: claimed } = await tx.query<JobRow>(CLAIM_IDS_SQL, [
      decided.claim,
      request.workerId,
      now + request.leaseMs,
      now,
      decided.defer.map((d) => d.id),
      decided.defer.map((d) => d.until),
      rate.map((e) => e[0]),
      rate.map((e) => e[1]),
      rate.map((e) => e[2]),
    ]);
    if (decided.defer.length > 0) {
      const first = Math.min(...decided.defer.map((d) => d.until));
      notify({ k: 'q', due: first });
      request.onDeferred?.(first);
    }
    const order = new Map(decided.claim.map((id, i) => [id, i]));
    return claimed.map(toJobRecord).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  });
}

/** The distinct (workspace, key) pairs of one kind of key among the candidates. */
function uniqueKeys(due: readonly Candidate[], keyOf: (c: Candidate) => string | null): [string, string][] {
  const seen = new Map<string, [string, string]>();
  for (const c of due) {
    const key = keyOf(c);
    if (key !== null) seen.set(keyId(c.workspace, key), [c.workspace, key]);
  }
  return [...seen.values()];
}

/** The keys' running counts, recent starts and next rate starts, in one statement (after the keys' locks). */
async function loadStates(
  tx: pg.PoolClient,
  ckeys: [string, string][],
  rkeys: [string, string][],
  due: readonly Candidate[],
  now: number,
): Promise<KeyStates> {
  const states: KeyStates = { running: new Map(), starts: new Map(), rateNext: new Map() };
  const longest = Math.max(0, ...due.map((c) => Number(c.concurrency_window_ms ?? 0)));
  const { rows } = await tx.query<{ kind: 'running' | 'start' | 'rate'; workspace: string; key: string; v: string }>(
    KEY_STATES_SQL,
    [
      ckeys.map((k) => k[0]),
      ckeys.map((k) => k[1]),
      longest > 0 ? now - longest : null,
      rkeys.map((k) => k[0]),
      rkeys.map((k) => k[1]),
    ],
  );
  for (const r of rows) {
    const k = keyId(r.workspace, r.key);
    if (r.kind === 'running') states.running.set(k, Number(r.v));
    else if (r.kind === 'rate') states.rateNext.set(k, Number(r.v));
    else states.starts.set(k, [...(states.starts.get(k) ?? []), Number(r.v)]);
  }
  return states;
}

/**
 * $1..$5 CLAIM_SQL's scope, $6 how many, $7 aged before: the due rows in claim order, locked,
 * with their keys; then, in the same statement, each key's advisory transaction lock, taken in
 * sorted order (a lock's name is the key as JSON: PostgreSQL's text holds no NUL). The keys'
 * state is read by the next statement, whose snapshot comes after these locks.
 */
const CANDIDATE_COLUMNS =
  'id, workspace, concurrency_key, concurrency_limit, concurrency_window_ms, rate_key, rate_limit, rate_per_ms, priority, scheduled_for, seq';
const KEYED_CANDIDATES_SQL = `
  WITH ${dueCtes(CANDIDATE_COLUMNS, { now: '$1', agedBefore: '$7', limit: '$6' })},
  cand AS (
    SELECT ${CANDIDATE_COLUMNS} FROM aged UNION ALL SELECT ${CANDIDATE_COLUMNS} FROM ranked
  ), keys AS (
    SELECT DISTINCT json_build_array('c', workspace, concurrency_key)::text AS k FROM cand WHERE concurrency_key IS NOT NULL
    UNION
    SELECT DISTINCT json_build_array('r', workspace, rate_key)::text FROM cand WHERE rate_key IS NOT NULL
    ORDER BY k
  ), locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended('millrace.key' || k, 0))) AS n FROM keys
  )
  SELECT cand.id, cand.workspace, cand.concurrency_key, cand.concurrency_limit, cand.concurrency_window_ms, cand.rate_key,
         cand.rate_limit, cand.rate_per_ms
  FROM cand, locked
  ORDER BY ${claimOrder('cand', '$7')}`;

/** $1, $2 concurrency keys (workspaces, keys), $3 window start or null, $4, $5 rate keys: their state. */
const KEY_STATES_SQL = `
  SELECT 'running' AS kind, j.workspace, j.concurrency_key AS key, count(*)::bigint AS v
  FROM jobs j JOIN unnest($1::text[], $2::text[]) AS k(ws, key) ON j.workspace = k.ws AND j.concurrency_key = k.key
  WHERE j.status = 'running' GROUP BY 2, 3
  UNION ALL
  SELECT 'start', j.workspace, j.concurrency_key, a.claimed_at
  FROM jobs j JOIN unnest($1::text[], $2::text[]) AS k(ws, key) ON j.workspace = k.ws AND j.concurrency_key = k.key
  JOIN attempts a ON a.job_id = j.id
  WHERE $3::bigint IS NOT NULL AND j.status <> 'queued' AND a.claimed_at > $3::bigint
  UNION ALL
  SELECT 'rate', r.workspace, r.key, r.next_start
  FROM rate_limits r JOIN unnest($4::text[], $5::text[]) AS k(ws, key) ON r.workspace = k.ws AND r.key = k.key`;

/**
 * $1 ids, $2 worker, $3 lease end, $4 now: the admitted jobs taken, their attempts recorded;
 * $5, $6 the deferred jobs and their new due times; $7, $8, $9 the rate keys' next starts.
 */
const CLAIM_IDS_SQL = `
  WITH deferred AS (
    UPDATE jobs SET scheduled_for = d.until FROM unnest($5::text[], $6::bigint[]) AS d(id, until)
    WHERE jobs.id = d.id AND jobs.status = 'queued'
  ), rated AS (
    INSERT INTO rate_limits (workspace, key, next_start) SELECT * FROM unnest($7::text[], $8::text[], $9::bigint[])
    ON CONFLICT (workspace, key) DO UPDATE SET next_start = excluded.next_start
  ), claimed AS (
    UPDATE jobs j SET status = 'running', worker = $2, lease_until = $3, attempt = j.attempt + 1, started_at = NULL
    WHERE j.id = ANY($1::text[]) AND j.status = 'queued'
    RETURNING j.*
  ), recorded AS (
    INSERT INTO attempts (job_id, attempt, worker, claimed_at, status)
    SELECT id, attempt, $2, $4, 'running' FROM claimed
  )
  SELECT claimed.* FROM claimed, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait`;

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
