import { NEVER_DUE, type JobFilter } from '../../types.js';
import { listQuery, type ListTerm } from '../policy.js';

/**
 * The PostgreSQL store's longer statements, by verb. Each says what its parameters are; the
 * store passes them in that order. Tables are unqualified: every connection's search_path is
 * the store's schema.
 */

/** The values of a new job, in order, with their PostgreSQL types (for the batch's arrays). */
export const INSERT_COLUMN_TYPES = [
  'text', // 1 id
  'text', // 2 workspace
  'text', // 3 kind
  'text', // 4 script_path
  'text', // 5 script_hash
  'text', // 6 entrypoint
  'text', // 7 args
  'text', // 8 tag
  'text', // 9 parent_job
  'text', // 10 call_key
  'int', // 11 max_attempts
  'text', // 12 retry
  'float8', // 13 timeout_s
  'bigint', // 14 created_at
  'bigint', // 15 scheduled_for
  'text', // 16 idempotency_key
  'int', // 17 priority
  'text', // 18 concurrency_key
  'int', // 19 concurrency_limit
  'bigint', // 20 concurrency_window_ms
  'text', // 21 rate_key
  'int', // 22 rate_limit
  'bigint', // 23 rate_per_ms
  'text', // 24 cache_key
  'bigint', // 25 cache_ttl_ms
  'text', // 26 worker: the one that takes the job as it is inserted (Store.enqueue's claim), or null
  'bigint', // 27 lease_until, with a worker
  'text', // 28 the worker whose lease of the parent the insert checks (Store.enqueue's parentHeld), or null
  'int', // 29 the parent's attempt it holds, with a worker
  'bigint', // 30 with a worker: when its code began, for a job that ran before it was recorded (ClaimAtOnce's ended), or null
  'bigint', // 31 with 30: when it ended, a success
  'text', // 32 with 30: its result
] as const;

/** The flow-control columns (store/flow-control.ts), values 17 to 25 of a new job. */
const FLOW_COLUMNS =
  'priority, concurrency_key, concurrency_limit, concurrency_window_ms, rate_key, rate_limit, rate_per_ms, cache_key, cache_ttl_ms';

/**
 * A write's lease check (Store's HeldLease): no worker named (a null), or the job (a parent, for
 * an insert) runs that attempt on that worker in that workspace. Its columns prefixed with `on`
 * where the statement names more than one table.
 */
function held(worker: string, attempt: string, workspace: string, on = ''): string {
  return `(${worker}::text IS NULL OR (${on}status = 'running' AND ${on}worker = ${worker} AND ${on}attempt = ${attempt} AND ${on}workspace = ${workspace}))`;
}

/**
 * The attempt of each job inserted already taken by a worker (INSERT_SQL's $26), recorded as a
 * claim records one; or, for a job that ran before it was recorded, as its end leaves it.
 */
const RECORD_CLAIMED = `recorded AS (
    INSERT INTO attempts (job_id, attempt, worker, claimed_at, started_at, completed_at, status)
    SELECT id, attempt, worker, created_at, started_at, completed_at, status FROM inserted WHERE worker IS NOT NULL
  )`;

/**
 * One new job, its root and path taken from its parent (none: the parent is missing, not held by
 * the worker named in $28 and $29, or the call recorded).
 */
export const INSERT_SQL = `
  WITH parent AS (SELECT root_job, path FROM jobs WHERE id = $9::text AND ${held('$28', '$29::int', '$2')}),
  place AS (
    SELECT coalesce(p.root_job, $1::text) AS root_job, CASE WHEN p.path IS NULL THEN $1::text ELSE p.path || '/' || $1::text END AS path
    FROM (SELECT 1) AS one LEFT JOIN parent p ON true
    WHERE $9::text IS NULL OR p.path IS NOT NULL
  ),
  inserted AS (
    INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                      path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key, ${FLOW_COLUMNS},
                      worker, lease_until, attempt, started_at, completed_at, duration_ms, result)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8,
           CASE WHEN $26::text IS NULL THEN 'queued' WHEN $31::bigint IS NULL THEN 'running' ELSE 'success' END, $9, place.root_job,
           place.path, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,
           $26, CASE WHEN $31::bigint IS NULL THEN $27::bigint END, CASE WHEN $26::text IS NULL THEN 0 ELSE 1 END,
           $30::bigint, $31::bigint, $31::bigint - $30::bigint, $32::text FROM place
    ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
    RETURNING *
  ), ${RECORD_CLAIMED}
  SELECT * FROM inserted`;

/** INSERT_SQL for many jobs: each parameter an array, one element a job; taken in order (seq). */
export const INSERT_BATCH_SQL = `
  WITH input AS (
    SELECT * FROM unnest(${INSERT_COLUMN_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
      WITH ORDINALITY AS i(id, workspace, kind, script_path, script_hash, entrypoint, args, tag, parent_job, call_key,
                           max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key,
                           ${FLOW_COLUMNS}, worker, lease_until, parent_worker, parent_attempt,
                           ran_from, ran_to, ran_result, n)
  ), inserted AS (
    INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                      path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key, ${FLOW_COLUMNS},
                      worker, lease_until, attempt, started_at, completed_at, duration_ms, result)
    SELECT i.id, i.workspace, i.kind, i.script_path, i.script_hash, i.entrypoint, i.args, i.tag,
           CASE WHEN i.worker IS NULL THEN 'queued' WHEN i.ran_to IS NULL THEN 'running' ELSE 'success' END, i.parent_job,
           coalesce(p.root_job, i.id), CASE WHEN p.path IS NULL THEN i.id ELSE p.path || '/' || i.id END,
           i.call_key, i.max_attempts, i.retry, i.timeout_s, i.created_at, i.scheduled_for, i.idempotency_key,
           i.priority, i.concurrency_key, i.concurrency_limit, i.concurrency_window_ms, i.rate_key, i.rate_limit, i.rate_per_ms,
           i.cache_key, i.cache_ttl_ms, i.worker, CASE WHEN i.ran_to IS NULL THEN i.lease_until END,
           CASE WHEN i.worker IS NULL THEN 0 ELSE 1 END, i.ran_from, i.ran_to, i.ran_to - i.ran_from, i.ran_result
    FROM input i LEFT JOIN jobs p ON p.id = i.parent_job AND ${held('i.parent_worker', 'i.parent_attempt', 'i.workspace', 'p.')}
    WHERE i.parent_job IS NULL OR p.path IS NOT NULL
    ORDER BY i.n
    ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
    RETURNING *
  ), ${RECORD_CLAIMED}
  SELECT * FROM inserted`;

/** $1 job, $2 status, $3 result, $4 error, $5 at: the job's end; the first word stands. */
export const FINISH_SQL = `
  UPDATE jobs SET status = $2, result = $3, error = $4, completed_at = $5, lease_until = NULL,
                  duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE $5 - started_at END
  WHERE id = $1 AND status IN ('queued', 'running')
  RETURNING *`;

/** $1 job, $2 due time: a running job back to the queue. */
export const REQUEUE_SQL = `
  UPDATE jobs SET status = 'queued', worker = NULL, lease_until = NULL, started_at = NULL, scheduled_for = $2
  WHERE id = $1 AND status = 'running'
  RETURNING *`;

/** $1 job, $2 attempts allowed from here, $3 now: a failed or canceled call, run again (see policy.runsAgain). */
export const RUN_AGAIN_SQL = `
  UPDATE jobs SET status = 'queued', max_attempts = attempt + $2, worker = NULL,
                  -- A wait run again waits its whole timeout again (a wait without one, still never due).
                  scheduled_for = CASE WHEN kind = 'wait' THEN LEAST($3 + (scheduled_for - created_at), ${NEVER_DUE}) ELSE $3 END,
                  lease_until = NULL, started_at = NULL, completed_at = NULL, duration_ms = NULL,
                  result = NULL, error = NULL, cancel_reason = NULL, canceled_by = NULL
  WHERE id = $1
  RETURNING *`;

/** $1 parent: the error code of its previous attempt, if any (see policy.replays). */
export const PREVIOUS_ATTEMPT_CODE_SQL = `
  SELECT (a.error::jsonb ->> 'code') AS code FROM attempts a JOIN jobs j ON a.job_id = j.id
  WHERE j.id = $1 AND a.attempt = j.attempt - 1`;

/** A job recorded already finished (a step): its values, then $14 started, $15 ended; nothing when its call is recorded. */
export const RECORD_SQL = `
  INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job, path,
                    call_key, attempt, max_attempts, created_at, scheduled_for, started_at, completed_at, duration_ms, result, error)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, 1, $14::bigint, $14::bigint, $14::bigint, $15::bigint, $15::bigint - $14::bigint, $16, $17)
  ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
  RETURNING *`;

/** The jobs a claim may take: $2 all tags, $3 tags, $4 roots or null, $5 workspace or null. */
const CLAIM_SCOPE = `($2::boolean OR tag = ANY($3::text[]))
      AND ($4::text[] IS NULL OR root_job = ANY($4::text[]))
      AND ($5::text IS NULL OR workspace = $5::text)`;

/**
 * A queued job's due time in a claim by priority, where no index can use it: the claim reads
 * jobs_queue_priority in its order and stops at its LIMIT. Written plainly, the due time is an
 * index condition on jobs_queue (scheduled_for, seq), and whenever the table's statistics
 * were taken with an empty queue (a fan-out of 2,000 arrives between two ANALYZEs), the
 * planner, expecting one queued row, reads all of jobs_queue and sorts it for every claim: a
 * fan-out's claims cost its width squared (docs/performance.md).
 */
const RANKED_DUE = '(scheduled_for + 0)';

/**
 * The CTE `due`: the first `limit` due rows in claim order, locked FOR UPDATE SKIP LOCKED, of
 * `columns`: the aged jobs (due at or before `agedBefore`: priority aging, store/flow-control.ts),
 * oldest first, off jobs_queue; then the rest by priority, then age, off jobs_queue_priority.
 * The outer LIMIT pulls rows from the first read, then from the second only as many as are
 * still wanted (an Append runs its inputs in turn), and each read locks only the rows pulled:
 * without aged jobs, the first read is one index probe. Each read's own LIMIT makes it an
 * ordered index scan (without one, the planner sorts the whole queue); the outer one keeps the
 * planner's estimate at the claim's size, so that a join on `due` finds each row by its key.
 */
function dueCte(columns: string, scope: { now: string; agedBefore: string; limit: string }): string {
  return `due AS (
    SELECT * FROM (
      SELECT ${columns} FROM jobs
      WHERE status = 'queued' AND scheduled_for <= ${scope.agedBefore} AND ${CLAIM_SCOPE}
      ORDER BY scheduled_for, seq
      LIMIT ${scope.limit}
      FOR UPDATE SKIP LOCKED) aged
    UNION ALL
    SELECT * FROM (
      SELECT ${columns} FROM jobs
      WHERE status = 'queued' AND ${RANKED_DUE} <= ${scope.now} AND ${RANKED_DUE} > ${scope.agedBefore} AND ${CLAIM_SCOPE}
      ORDER BY priority DESC, scheduled_for, seq
      LIMIT ${scope.limit}
      FOR UPDATE SKIP LOCKED) ranked
    LIMIT ${scope.limit}
  )`;
}

/** Claim order over rows of `alias` (with priority, scheduled_for, seq) aged at or before `agedBefore`. */
const claimOrder = (alias: string, agedBefore: string) =>
  `(${alias}.scheduled_for <= ${agedBefore}) DESC, CASE WHEN ${alias}.scheduled_for <= ${agedBefore} THEN 0 ELSE ${alias}.priority END DESC, ${alias}.scheduled_for, ${alias}.seq`;

/**
 * What both claim statements do with their `due` rows: take them (unless one has a key, or
 * `${extra}` says no), record the attempts, and answer them in claim order with `keyed_found`
 * (a due row has a concurrency or rate key: the keyed claim, claim.ts, decides under the keys'
 * locks) and `aged_found`. It commits without waiting for the disk: a claim lost in a crash of
 * the database leaves the job queued, as if never claimed, and its worker hears at its next
 * heartbeat that the job is not its own (as with SQLite, whose claims do not wait for their
 * commit either).
 */
function takeDue(aged: { found: string; blocks: boolean }): string {
  return `plain AS (
    SELECT NOT EXISTS (SELECT 1 FROM due WHERE keyed) AS ok, ${aged.found} AS aged_found
  ), claimed AS (
    UPDATE jobs j SET status = 'running', worker = $7, lease_until = $8, attempt = j.attempt + 1, started_at = NULL
    FROM due, plain WHERE j.id = due.id AND plain.ok${aged.blocks ? ' AND NOT plain.aged_found' : ''}
    RETURNING j.*
  ), recorded AS (
    INSERT INTO attempts (job_id, attempt, worker, claimed_at, status)
    SELECT id, attempt, $7, $1, 'running' FROM claimed
  )
  SELECT claimed.*, NOT plain.ok AS keyed_found, plain.aged_found
  FROM plain LEFT JOIN claimed ON true, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait`;
}

/**
 * $1 now, $2 all tags, $3 tags, $4 roots or null, $5 workspace or null, $6 limit, $7 worker,
 * $8 lease end, $9 aged before. The claim when no job is aged (priority aging), the common
 * case, in one statement: lock the first due rows no other claim holds (highest priority,
 * then oldest), take them, record the attempts (takeDue). A concurrent claim on another
 * server skips the locked rows instead of waiting. One index probe looks for an aged job the
 * claim may take: if there is one, it takes nothing and says so (`aged_found`), and the store
 * claims with AGED_CLAIM_SQL until a claim finds none. Why not AGED_CLAIM_SQL always: its two
 * reads and their merge cost a fifth more than this one read (docs/performance.md).
 */
export const CLAIM_SQL = `
  WITH due AS (
    SELECT id, (concurrency_key IS NOT NULL OR rate_key IS NOT NULL) AS keyed FROM jobs
    WHERE status = 'queued' AND ${RANKED_DUE} <= $1 AND ${CLAIM_SCOPE}
    ORDER BY priority DESC, scheduled_for, seq
    LIMIT $6
    FOR UPDATE SKIP LOCKED
  ), ${takeDue({ found: `EXISTS (SELECT 1 FROM jobs WHERE status = 'queued' AND scheduled_for <= $9 AND ${CLAIM_SCOPE})`, blocks: true })}
  ORDER BY claimed.priority DESC, claimed.scheduled_for, claimed.seq`;

/** CLAIM_SQL's parameters: the claim with aged jobs first (dueCte), then the rest as CLAIM_SQL. */
export const AGED_CLAIM_SQL = `
  WITH ${dueCte('id, (concurrency_key IS NOT NULL OR rate_key IS NOT NULL) AS keyed, scheduled_for <= $9 AS aged', { now: '$1', agedBefore: '$9', limit: '$6' })},
  ${takeDue({ found: 'EXISTS (SELECT 1 FROM due WHERE aged)', blocks: false })}
  ORDER BY ${claimOrder('claimed', '$9')}`;

/** $1 job, $2 at, $3-$5 the lease it is held by (or nulls). Only a timestamp: nothing depends on it being on disk before the job goes on. */
export const MARK_STARTED_SQL = `
  WITH job AS (UPDATE jobs SET started_at = $2 WHERE id = $1 AND status = 'running' AND ${held('$3', '$4', '$5')} RETURNING id, attempt),
  attempt AS (UPDATE attempts t SET started_at = $2 FROM job WHERE t.job_id = job.id AND t.attempt = job.attempt)
  SELECT id FROM job, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait`;

/**
 * MARK_STARTED_SQL for many jobs: $1 ids, $2 their start times, $3-$5 the leases they are held
 * by (rows locked in id order, as in COMPLETE_BATCH_SQL).
 */
export const MARK_STARTED_BATCH_SQL = `
  WITH input AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::text[]) AS i(id, at, worker, attempt, workspace)),
  locked AS (SELECT j.id FROM jobs j JOIN input i ON i.id = j.id ORDER BY j.id FOR UPDATE OF j),
  job AS (
    UPDATE jobs j SET started_at = i.at FROM input i, locked l
    WHERE j.id = i.id AND l.id = i.id AND j.status = 'running' AND ${held('i.worker', 'i.attempt', 'i.workspace', 'j.')}
    RETURNING j.id, j.attempt, i.at
  ),
  attempt AS (UPDATE attempts t SET started_at = job.at FROM job WHERE t.job_id = job.id AND t.attempt = job.attempt)
  SELECT id FROM job, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait`;

/**
 * A job's end and its attempt's, in one statement (one round trip): $1 id, $2 status, $3 result,
 * $4 error, $5 at, $6 its start when none is recorded yet (or null): a short job's start comes
 * with its end (Store.finish); $7-$9 the lease it is held by (or nulls).
 */
export const COMPLETE_WITH_ATTEMPT_SQL = `
  WITH done AS (
    UPDATE jobs SET status = $2, result = $3, error = $4, completed_at = $5, lease_until = NULL,
                    started_at = coalesce(started_at, $6::bigint), duration_ms = $5 - coalesce(started_at, $6::bigint)
    WHERE id = $1 AND status IN ('queued', 'running') AND ${held('$7', '$8', '$9')}
    RETURNING *
  ),
  attempt AS (
    UPDATE attempts t SET status = $2, error = $4, completed_at = $5, started_at = coalesce(t.started_at, $6::bigint)
    FROM done WHERE t.job_id = done.id AND t.attempt = done.attempt AND t.status = 'running'
  )
  SELECT * FROM done`;

/** COMPLETE_WITH_ATTEMPT_SQL for many jobs, each once: $1 ids, $2 statuses, $3 results, $4 errors, $5 times, $6 starts, $7-$9 leases. */
export const COMPLETE_BATCH_SQL = `
  WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::int[], $9::text[])
      AS i(id, status, result, error, at, started, worker, attempt, workspace)
  ),
  -- The rows locked in id order, as every statement that locks many jobs does: two of them
  -- (another tick's ends, a worker's lease renewal) never wait on each other in a cycle.
  locked AS (SELECT j.id FROM jobs j JOIN input i ON i.id = j.id ORDER BY j.id FOR UPDATE OF j),
  done AS (
    UPDATE jobs j SET status = i.status, result = i.result, error = i.error, completed_at = i.at, lease_until = NULL,
                      started_at = coalesce(j.started_at, i.started), duration_ms = i.at - coalesce(j.started_at, i.started)
    FROM input i, locked l
    WHERE j.id = i.id AND l.id = i.id AND j.status IN ('queued', 'running') AND ${held('i.worker', 'i.attempt', 'i.workspace', 'j.')}
    RETURNING j.*
  ),
  attempt AS (
    UPDATE attempts t SET status = done.status, error = done.error, completed_at = done.completed_at,
                          started_at = coalesce(t.started_at, done.started_at)
    FROM done WHERE t.job_id = done.id AND t.attempt = done.attempt AND t.status = 'running'
  )
  SELECT * FROM done`;

/** REQUEUE_SQL's, then $3 error, $4 at: a failed attempt and the job back in the queue. */
export const RETRY_SQL = `
  WITH requeued AS (${REQUEUE_SQL}),
  attempt AS (
    UPDATE attempts t SET status = 'failure', error = $3, completed_at = $4
    FROM requeued WHERE t.job_id = requeued.id AND t.attempt = requeued.attempt AND t.status = 'running'
  )
  SELECT * FROM requeued`;

/** $1 job, $2 its root, $3 its path + '/', $4 reason, $5 by, $6 error, $7 at: the job and its unfinished descendants. */
export const CANCEL_SQL = `
  WITH locked AS (
    -- In id order, as every statement that locks many jobs (COMPLETE_BATCH_SQL).
    SELECT id FROM jobs WHERE status IN ('queued', 'running') AND (id = $1 OR (root_job = $2 AND starts_with(path, $3)))
    ORDER BY id FOR UPDATE
  )
  UPDATE jobs j SET status = 'canceled', cancel_reason = $4, canceled_by = $5, error = $6, completed_at = $7,
                    lease_until = NULL,
                    duration_ms = CASE WHEN j.started_at IS NULL THEN NULL ELSE $7 - j.started_at END
  FROM locked l WHERE j.id = l.id AND j.status IN ('queued', 'running')
  RETURNING j.*`;

/** $1 jobs, $2 their attempts, $3 error, $4 at: the canceled jobs' running attempts. */
export const CANCEL_ATTEMPTS_SQL = `
  UPDATE attempts a SET status = 'canceled', error = $3, completed_at = $4
  FROM unnest($1::text[], $2::int[]) AS c(job_id, attempt)
  WHERE a.job_id = c.job_id AND a.attempt = c.attempt AND a.status = 'running'`;

/** $1 job, $2 attempt, $3 status, $4 error, $5 at: an attempt's end. */
export const ATTEMPT_DONE_SQL = `
  UPDATE attempts SET status = $3, error = $4, completed_at = $5 WHERE job_id = $1 AND attempt = $2 AND status = 'running'`;

/** $1 job: how many of its attempts were lost with their worker. */
export const COUNT_LOST_LEASES_SQL = `
  SELECT count(*)::int AS n FROM attempts WHERE job_id = $1 AND status = 'failure' AND (error::jsonb ->> 'code') = 'LEASE_EXPIRED'`;

/**
 * $1..$6 the lines' columns (job, ts, stream, line, src_job, src_name), $7 the runs' roots.
 * Followers read a log by cursor (seq > n), so within a log the lines must become visible in
 * seq order. Every append of a run writes to the root's log: appends of one run take turns on
 * the root's lock (taken before any seq is drawn), so their seqs commit in order. A statement
 * of several runs' lines (a tick's appends) takes their locks in one order, so that two such
 * statements never wait on each other in a ring.
 */
export const APPEND_LOGS_SQL = `
  WITH turn AS (
    SELECT count(*) FROM (
      SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(r, 0) AS h FROM unnest($7::text[]) r ORDER BY 1) roots
    ) locked
  ),
  inserted AS (
    INSERT INTO logs (job_id, ts, stream, line, src_job, src_name)
    SELECT l.* FROM turn, unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS l
    RETURNING *
  )
  SELECT * FROM inserted`;

/** $1 workspace, $2 since: the workers seen since then, with the jobs each runs. */
export const LIST_WORKERS_SQL = `
  SELECT w.*, (SELECT json_agg(j.id ORDER BY j.seq) FROM jobs j WHERE j.worker = w.id AND j.status = 'running') AS jobs
  FROM workers w WHERE w.workspace = $1 AND w.last_seen >= $2 ORDER BY w.started_at, w.id`;

/** A `list` as one statement: the filter's conditions, in its order (newest first by default), its values numbered parameters. */
export function listStatement(filter: JobFilter): { sql: string; params: unknown[] } {
  const { terms, limit, offset, order } = listQuery(filter);
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const where = terms.map((term) => listCondition(term, param));
  const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at ${order}, seq ${order} LIMIT ${param(limit)} OFFSET ${param(offset)}`;
  return { sql, params };
}

function listCondition(term: ListTerm, param: (value: unknown) => string): string {
  switch (term.op) {
    case 'in':
      return `${term.column} = ANY(${param([...term.values])}::text[])`;
    case 'eq':
      return `${term.column} = ${param(term.value)}`;
    case 'isNull':
      return `${term.column} IS NULL`;
    case 'lt':
      return `${term.column} < ${param(term.value)}`;
  }
}
