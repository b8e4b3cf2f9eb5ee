import type Database from 'better-sqlite3';
import { NEVER_DUE, type JobFilter } from '../../types.js';
import { listQuery, type ListTerm } from '../policy.js';

/**
 * The SQLite store's statements, by name. Parameters are named (@id, @at, …) where a
 * statement has several, positional (?) where it has one or two.
 */

/** The condition of a job that may still change: the first end recorded stands. */
const UNFINISHED = `status IN ('queued', 'running')`;

/**
 * `columns` of a workspace's queued and running jobs (and `also`), each status read off its own
 * partial index (jobs_queued, jobs_lease) rather than a scan of every job of the workspace.
 */
const live = (columns: string, also = '1') => `
      SELECT ${columns} FROM jobs WHERE status = 'queued' AND +workspace = @workspace AND ${also}
      UNION ALL
      SELECT ${columns} FROM jobs WHERE status = 'running' AND +workspace = @workspace AND ${also}`;

/** A claim's candidate: what admission (store/flow-control.ts) reads of a due job. */
const CANDIDATE =
  'id, workspace, concurrency_key, concurrency_limit, concurrency_window_ms, rate_key, rate_limit, rate_per_ms';

/** The jobs a claim may take: its tags, runs and workspace. */
const CLAIM_SCOPE = `(@all_tags = 1 OR tag IN (SELECT value FROM json_each(@tags)))
          AND (@roots IS NULL OR root_job IN (SELECT value FROM json_each(@roots)))
          AND (@workspace IS NULL OR workspace = @workspace)`;

/** Every statement of the store but `list`'s (built from its filter), by name. */
const STATEMENT_SQL = {
  insert: `
    INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                      path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key,
                      priority, concurrency_key, concurrency_limit, concurrency_window_ms, rate_key, rate_limit, rate_per_ms,
                      cache_key, cache_ttl_ms, worker, lease_until, attempt)
    VALUES (@id, @workspace, @kind, @script_path, @script_hash, @entrypoint, @args, @tag, @status, @parent_job, @root_job,
            @path, @call_key, @max_attempts, @retry, @timeout_s, @created_at, @scheduled_for, @idempotency_key,
            @priority, @concurrency_key, @concurrency_limit, @concurrency_window_ms, @rate_key, @rate_limit, @rate_per_ms,
            @cache_key, @cache_ttl_ms, @worker, @lease_until, @attempt)
    RETURNING *`,
  byCallKey: 'SELECT * FROM jobs WHERE parent_job = ? AND call_key = ?',
  previousAttemptError: `
    SELECT json_extract(a.error, '$.code') AS code FROM attempts a JOIN jobs j ON a.job_id = j.id
    WHERE j.id = ? AND a.attempt = j.attempt - 1`,
  byIdempotencyKey: 'SELECT * FROM jobs WHERE workspace = ? AND idempotency_key = ?',
  setFlowStatus: `
    INSERT INTO flow_status (job_id, status, updated_at) VALUES (@job_id, @status, @now)
    ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
  getFlowStatus: 'SELECT status FROM flow_status WHERE job_id = ?',
  runAgain: `
    UPDATE jobs SET status = 'queued', max_attempts = attempt + @extra, worker = NULL,
                    -- A wait run again waits its whole timeout again (a wait without one, still never due).
                    scheduled_for = CASE WHEN kind = 'wait' THEN min(@now + (scheduled_for - created_at), ${NEVER_DUE}) ELSE @now END,
                    lease_until = NULL, started_at = NULL, completed_at = NULL, duration_ms = NULL,
                    result = NULL, error = NULL, cancel_reason = NULL, canceled_by = NULL
    WHERE id = @id
    RETURNING *`,
  place: 'SELECT root_job, path FROM jobs WHERE id = ?',
  placeAndName: 'SELECT path, kind, entrypoint, script_path FROM jobs WHERE id = ?',
  get: 'SELECT * FROM jobs WHERE id = ?',
  matchIds: 'SELECT id FROM jobs WHERE id >= @lo AND id < @hi ORDER BY rowid DESC LIMIT @limit',
  // Priority first, then age: within a priority, first due first, then first submitted. The
  // rows come in that order off jobs_queued_priority and the LIMIT stops the read; `+` keeps the
  // planner from taking jobs_queued's range on scheduled_for instead, which sorts the whole queue.
  // The claim when no due job is aged (anyAged), the common case.
  due: `
    SELECT ${CANDIDATE} FROM jobs
    WHERE status = 'queued' AND +scheduled_for <= @now AND ${CLAIM_SCOPE}
    ORDER BY priority DESC, scheduled_for, rowid
    LIMIT @limit OFFSET @offset`,
  // Whether a job the claim may take is aged (due at or before @aged_before: priority aging,
  // store/flow-control.ts): one seek on jobs_queued's range. The claim's scope counts: a run's
  // job left queued long ago in the file (a killed `millrace run`) must not send every claim
  // of other runs to dueAged.
  anyAged: `SELECT 1 FROM jobs WHERE status = 'queued' AND scheduled_for <= @aged_before AND ${CLAIM_SCOPE} LIMIT 1`,
  // With aged jobs: those first, the oldest first, off jobs_queued; then the rest as in `due`.
  // Each arm's LIMIT stops its read; the outer sort orders at most twice the page.
  dueAged: `
    SELECT ${CANDIDATE} FROM (
      SELECT * FROM (
        SELECT 0 AS tier, 0 AS p, scheduled_for AS t, rowid AS r, ${CANDIDATE} FROM jobs
        WHERE status = 'queued' AND scheduled_for <= @aged_before AND ${CLAIM_SCOPE}
        ORDER BY scheduled_for, rowid LIMIT @limit + @offset)
      UNION ALL
      SELECT * FROM (
        SELECT 1, priority, scheduled_for, rowid, ${CANDIDATE} FROM jobs
        WHERE status = 'queued' AND +scheduled_for <= @now AND +scheduled_for > @aged_before AND ${CLAIM_SCOPE}
        ORDER BY priority DESC, scheduled_for, rowid LIMIT @limit + @offset))
    ORDER BY tier, p DESC, t, r
    LIMIT @limit OFFSET @offset`,
  runningOfKey: `SELECT count(*) AS n FROM jobs WHERE workspace = ? AND concurrency_key = ? AND status = 'running'`,
  startsOfKey: `
    SELECT a.claimed_at AS t FROM jobs j JOIN attempts a ON a.job_id = j.id
    WHERE j.workspace = @workspace AND j.concurrency_key = @key AND j.status IN ('running', 'success', 'failure', 'canceled')
      AND a.claimed_at > @since`,
  rateNext: 'SELECT next_start FROM rate_limits WHERE workspace = ? AND key = ?',
  setRateNext: `
    INSERT INTO rate_limits (workspace, key, next_start) VALUES (@workspace, @key, @next)
    ON CONFLICT (workspace, key) DO UPDATE SET next_start = excluded.next_start`,
  defer: `UPDATE jobs SET scheduled_for = @until WHERE id = @id AND status = 'queued'`,
  cached: `
    SELECT * FROM jobs WHERE cache_key = ? AND status = 'success' AND cached_from IS NULL AND completed_at >= ?
    ORDER BY completed_at DESC LIMIT 1`,
  insertCached: `
    UPDATE jobs SET status = 'success', result = @result, cached_from = @from, attempt = 1, started_at = @now,
                    completed_at = @now, duration_ms = 0
    WHERE id = @id
    RETURNING *`,
  // The live jobs of a workspace, each status off its own partial index (jobs_queued,
  // jobs_lease): `+workspace` keeps the planner off jobs_created, which holds every job ever.
  queueByTag: `
    SELECT tag AS name, sum(status = 'queued') AS queued, sum(status = 'running') AS running FROM (${live('tag, status')})
    GROUP BY tag ORDER BY tag`,
  queueByConcurrencyKey: `
    SELECT concurrency_key AS name, sum(status = 'queued') AS queued, sum(status = 'running') AS running,
           max(concurrency_limit) AS lim, max(concurrency_window_ms) AS window_ms FROM jobs
    WHERE workspace = @workspace AND concurrency_key IS NOT NULL AND status IN ('queued', 'running')
    GROUP BY concurrency_key ORDER BY concurrency_key`,
  queueByRateKey: `
    SELECT l.rate_key AS name, sum(l.status = 'queued') AS queued, sum(l.status = 'running') AS running,
           max(l.rate_limit) AS lim, max(l.rate_per_ms) AS per_ms, max(r.next_start) AS next_start
    FROM (${live('workspace, rate_key, rate_limit, rate_per_ms, status', 'rate_key IS NOT NULL')}) l
    LEFT JOIN rate_limits r ON r.workspace = l.workspace AND r.key = l.rate_key
    GROUP BY l.rate_key ORDER BY l.rate_key`,
  claimOne: `
    UPDATE jobs SET status = 'running', worker = @worker, lease_until = @lease_until, attempt = attempt + 1,
                    started_at = NULL
    WHERE id = @id AND status = 'queued'
    RETURNING *`,
  insertAttempt: `INSERT INTO attempts (job_id, attempt, worker, claimed_at, status) VALUES (@job_id, @attempt, @worker, @claimed_at, 'running')`,
  markStarted: `UPDATE jobs SET started_at = @at WHERE id = @id AND status = 'running'`,
  firstAttempt: `UPDATE jobs SET started_at = @at, attempt = 1 WHERE id = @id`,
  attemptStarted: `UPDATE attempts SET started_at = @at WHERE job_id = @id AND attempt = (SELECT attempt FROM jobs WHERE id = @id)`,
  renew: `
    UPDATE jobs SET lease_until = @lease_until
    WHERE worker = @worker AND status = 'running' AND id IN (SELECT value FROM json_each(@ids))`,
  stillMine: `
    SELECT id FROM jobs WHERE worker = @worker AND status = 'running' AND id IN (SELECT value FROM json_each(@ids))`,
  finish: `
    UPDATE jobs SET status = @status, result = @result, error = @error, completed_at = @at, lease_until = NULL,
                    duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE @at - started_at END
    WHERE id = @id AND ${UNFINISHED}
    RETURNING *`,
  attemptDone: `
    UPDATE attempts SET status = @status, error = @error, completed_at = @at
    WHERE job_id = @id AND attempt = @attempt AND status = 'running'`,
  // A job's end with the start its worker held back (worker/held-starts.ts), in the same two
  // updates: the start is recorded only where none was (SET reads the row as it was).
  finishStarted: `
    UPDATE jobs SET status = @status, result = @result, error = @error, completed_at = @at, lease_until = NULL,
                    started_at = CASE WHEN started_at IS NULL AND status = 'running' THEN @started ELSE started_at END,
                    duration_ms = CASE WHEN started_at IS NOT NULL THEN @at - started_at
                                       WHEN status = 'running' THEN @at - @started END
    WHERE id = @id AND ${UNFINISHED}
    RETURNING *`,
  attemptDoneStarted: `
    UPDATE attempts SET status = @status, error = @error, completed_at = @at, started_at = coalesce(started_at, @started)
    WHERE job_id = @id AND attempt = @attempt AND status = 'running'`,
  requeue: `
    UPDATE jobs SET status = 'queued', worker = NULL, lease_until = NULL, started_at = NULL, scheduled_for = @scheduled_for
    WHERE id = @id AND status = 'running'
    RETURNING *`,
  cancelTree: `
    UPDATE jobs SET status = 'canceled', cancel_reason = @reason, canceled_by = @by, error = @error, completed_at = @at,
                    lease_until = NULL,
                    duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE @at - started_at END
    WHERE ${UNFINISHED} AND (id = @id OR (root_job = @root AND substr(path, 1, length(@prefix)) = @prefix))
    RETURNING *`,
  countLostLeases: `SELECT count(*) AS n FROM attempts WHERE job_id = ? AND status = 'failure' AND json_extract(error, '$.code') = 'LEASE_EXPIRED'`,
  allowAttempt: 'UPDATE jobs SET max_attempts = max(max_attempts, @attempt) WHERE id = @id',
  expired: `SELECT * FROM jobs WHERE status = 'running' AND lease_until < @now`,
  descendants: `
    SELECT * FROM jobs WHERE root_job = @root AND substr(path, 1, length(@prefix)) = @prefix
    ORDER BY rowid`,
  attempts: 'SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt',
  touchWorker: `
    INSERT INTO workers (id, workspace, tags, hostname, started_at, last_seen) VALUES (@id, @workspace, @tags, @hostname, @now, @now)
    ON CONFLICT (id) DO UPDATE SET tags = @tags, last_seen = @now`,
  listWorkers: `
    SELECT w.*, (SELECT json_group_array(j.id) FROM jobs j WHERE j.worker = w.id AND j.status = 'running') AS jobs
    FROM workers w WHERE w.workspace = @workspace AND w.last_seen >= @since ORDER BY w.started_at`,
  insertLog: `
    INSERT INTO logs (job_id, ts, stream, line, src_job, src_name) VALUES (@job_id, @ts, @stream, @line, @src_job, @src_name)
    RETURNING *`,
  readLogs: 'SELECT * FROM logs WHERE job_id = @job_id AND seq > @after ORDER BY seq LIMIT @limit',
  readOwnLogs:
    'SELECT * FROM logs WHERE job_id = @job_id AND seq > @after AND src_job IS NULL ORDER BY seq LIMIT @limit',
} as const;

export type Statements = { readonly [K in keyof typeof STATEMENT_SQL]: Database.Statement };

/** Prepares every statement once, at open. */
export function prepareStatements(db: Database.Database): Statements {
  return Object.fromEntries(Object.entries(STATEMENT_SQL).map(([name, sql]) => [name, db.prepare(sql)])) as Statements;
}

/**
 * A `list` as one statement: the filter's conditions, in its order (newest first by default). Its SQL depends only on
 * which fields the filter has and its order, so the store prepares each shape once.
 */
export function listStatement(filter: JobFilter): { sql: string; params: Record<string, unknown> } {
  const { terms, limit, offset, order } = listQuery(filter);
  const params: Record<string, unknown> = { limit, offset };
  // With ids, the primary key is the way in: `+column` keeps SQLite from choosing another
  // index (a scan of the whole workspace) for the other terms.
  const where = terms.map((term, i) => listCondition(term, `p${i}`, params, { byIds: filter.ids !== undefined }));
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at ${order}, rowid ${order} LIMIT @limit OFFSET @offset`;
  return { sql, params };
}

/** Columns that `+` keeps off their index when a list goes in by ids. */
const OFF_INDEX_BY_IDS = new Set(['workspace', 'status', 'parent_job', 'root_job']);

/** One `list` condition in SQLite's terms, its value the named parameter `name`. */
function listCondition(
  term: ListTerm,
  name: string,
  params: Record<string, unknown>,
  options: { byIds: boolean },
): string {
  const col =
    options.byIds && term.op !== 'isNull' && OFF_INDEX_BY_IDS.has(term.column) ? `+${term.column}` : term.column;
  switch (term.op) {
    case 'in':
      params[name] = JSON.stringify(term.values);
      return `${col} IN (SELECT value FROM json_each(@${name}))`;
    case 'eq':
      params[name] = term.value;
      return `${col} = @${name}`;
    case 'isNull':
      return `${col} IS NULL`;
    case 'lt':
      params[name] = term.value;
      return `${col} < @${name}`;
  }
}
