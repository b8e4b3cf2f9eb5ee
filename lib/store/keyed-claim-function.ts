/**
 * PostgreSQL's keyed claim as one function, `millrace_claim_keyed`, created by a migration
 * (schema.ts): a claim among whose candidates some have a concurrency or rate key is then one
 * round trip, where it was a transaction of five (BEGIN, candidates, keys' state, writes,
 * COMMIT) with the admission between them in TypeScript.
 *
 * Why a function and not one statement: a statement reads with one snapshot, taken when it
 * starts, so counts read in the statement that takes the keys' locks would miss a claim of a
 * key that commits meanwhile. In a PL/pgSQL function (VOLATILE) each statement takes a new
 * snapshot: the keys' state is read by the statement after the one that locks, and sees every
 * claim of those keys that committed before (a claim holds its keys' locks until it commits).
 *
 * The admission loop is store/flow-control.ts `admit`, statement for statement (SQLite runs
 * that one); the flow-control conformance suite holds both to the same behaviour. A key is
 * `json_build_array(workspace, key)::text` here (PostgreSQL's text holds no NUL).
 *
 * Its statements are planned for each call's values (plan_cache_mode = force_custom_plan): the
 * generic plans PL/pgSQL would cache after five calls, blind to the arrays and the LIMIT, read
 * the whole queue (a keyed claim went from 3 to 10 ms with them).
 *
 * Parameters: now, all tags, tags, roots or null, workspace or null (CLAIM_SQL's scope), the
 * candidate page, how many to claim, worker, lease end, aged before (priority aging). One row:
 * `claimed_jobs` (the claimed rows as JSON, in claim order), `deferred_until` (the earliest due time a
 * job was deferred to, or null) and `keyed` (whether any candidate had a key; null when there was none).
 */
export const KEYED_CLAIM_FUNCTION = keyedClaimFunction('j.scheduled_for');

/**
 * The function as migration 12 replaces it: its read by priority takes no index condition on
 * the due time, as CLAIM_SQL's (postgres/sql.ts RANKED_DUE), so that statistics taken over an
 * empty queue do not make every claim read and sort the whole queue.
 */
export const KEYED_CLAIM_FUNCTION_RANKED_IN_ORDER = keyedClaimFunction('(j.scheduled_for + 0)');

/** The function's text, the due time of its read by priority written as `rankedDue` (migration 10's: plain). */
function keyedClaimFunction(rankedDue: string): string {
  return `
CREATE OR REPLACE FUNCTION millrace_claim_keyed(
  p_now BIGINT, p_all_tags BOOLEAN, p_tags TEXT[], p_roots TEXT[], p_workspace TEXT,
  p_page INT, p_limit INT, p_worker TEXT, p_lease_until BIGINT, p_aged_before BIGINT,
  OUT claimed_jobs JSON, OUT deferred_until BIGINT, OUT keyed BOOLEAN)
LANGUAGE plpgsql VOLATILE SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
  ids TEXT[]; wss TEXT[]; ckeys TEXT[]; climits INT[]; cwindows BIGINT[]; rkeys TEXT[]; rlimits INT[]; rpers BIGINT[];
  running JSONB; starts JSONB; rate_next JSONB; rate_moved JSONB := '{}';
  claim_ids TEXT[] := '{}'; defer_ids TEXT[] := '{}'; defer_untils BIGINT[] := '{}';
  n INT; i INT; ck TEXT; rk TEXT; due_at BIGINT; is_full BOOLEAN; recent BIGINT[]; nxt BIGINT;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- The due rows in claim order (aged first, then priority, then age), locked; then each key's
  -- advisory transaction lock, in sorted order so that two claims never wait on each other.
  WITH aged AS (
    SELECT j.id, j.workspace, j.concurrency_key, j.concurrency_limit, j.concurrency_window_ms, j.rate_key, j.rate_limit,
           j.rate_per_ms, j.priority, j.scheduled_for, j.seq FROM jobs j
    WHERE j.status = 'queued' AND j.scheduled_for <= p_aged_before
      AND (p_all_tags OR j.tag = ANY(p_tags)) AND (p_roots IS NULL OR j.root_job = ANY(p_roots))
      AND (p_workspace IS NULL OR j.workspace = p_workspace)
    ORDER BY j.scheduled_for, j.seq LIMIT p_page
    FOR UPDATE SKIP LOCKED
  ), ranked AS (
    SELECT j.id, j.workspace, j.concurrency_key, j.concurrency_limit, j.concurrency_window_ms, j.rate_key, j.rate_limit,
           j.rate_per_ms, j.priority, j.scheduled_for, j.seq FROM jobs j
    WHERE j.status = 'queued' AND ${rankedDue} <= p_now AND ${rankedDue} > p_aged_before
      AND (p_all_tags OR j.tag = ANY(p_tags)) AND (p_roots IS NULL OR j.root_job = ANY(p_roots))
      AND (p_workspace IS NULL OR j.workspace = p_workspace)
    ORDER BY j.priority DESC, j.scheduled_for, j.seq LIMIT p_page - (SELECT count(*) FROM aged)
    FOR UPDATE SKIP LOCKED
  ), cand AS (
    SELECT *, row_number() OVER (ORDER BY (scheduled_for <= p_aged_before) DESC,
             CASE WHEN scheduled_for <= p_aged_before THEN 0 ELSE priority END DESC, scheduled_for, seq) AS ord
    FROM (SELECT * FROM aged UNION ALL SELECT * FROM ranked) u
  ), keys AS (
    SELECT DISTINCT json_build_array('c', workspace, concurrency_key)::text AS k FROM cand WHERE concurrency_key IS NOT NULL
    UNION
    SELECT DISTINCT json_build_array('r', workspace, rate_key)::text FROM cand WHERE rate_key IS NOT NULL
    ORDER BY k
  ), locked AS (
    SELECT count(pg_advisory_xact_lock(hashtextextended('millrace.key' || k, 0))) AS l FROM keys
  )
  SELECT array_agg(id ORDER BY ord), array_agg(workspace ORDER BY ord), array_agg(concurrency_key ORDER BY ord),
         array_agg(concurrency_limit ORDER BY ord), array_agg(concurrency_window_ms ORDER BY ord),
         array_agg(rate_key ORDER BY ord), array_agg(rate_limit ORDER BY ord), array_agg(rate_per_ms ORDER BY ord)
  INTO ids, wss, ckeys, climits, cwindows, rkeys, rlimits, rpers
  FROM cand, locked;
  n := coalesce(cardinality(ids), 0);
  -- Null when there was no candidate at all: an empty queue says nothing of the next job's keys.
  keyed := CASE WHEN n = 0 THEN NULL
                ELSE EXISTS (SELECT 1 FROM unnest(ckeys, rkeys) AS u(c, r) WHERE c IS NOT NULL OR r IS NOT NULL) END;

  -- The keys' state, read after their locks (a new snapshot): running jobs per concurrency key,
  -- starts within the longest window per windowed key, next start per rate key.
  -- Each read only when a candidate has that kind of key: a read of no keys still plans a scan.
  running := '{}';
  starts := '{}';
  rate_next := '{}';
  IF EXISTS (SELECT 1 FROM unnest(ckeys, cwindows) AS u(c, win) WHERE c IS NOT NULL AND win IS NULL) THEN
    SELECT coalesce(jsonb_object_agg(k, c), '{}') INTO running FROM (
      SELECT json_build_array(j.workspace, j.concurrency_key)::text AS k, count(*) AS c
      FROM (SELECT DISTINCT w, c FROM unnest(wss, ckeys, cwindows) AS u(w, c, win) WHERE c IS NOT NULL AND win IS NULL) AS ks
      JOIN jobs j ON j.workspace = ks.w AND j.concurrency_key = ks.c AND j.status = 'running'
      GROUP BY 1) s;
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(ckeys, cwindows) AS u(c, win) WHERE c IS NOT NULL AND win IS NOT NULL) THEN
    SELECT coalesce(jsonb_object_agg(k, t), '{}') INTO starts FROM (
      SELECT json_build_array(j.workspace, j.concurrency_key)::text AS k, jsonb_agg(a.claimed_at) AS t
      FROM (SELECT DISTINCT w, c FROM unnest(wss, ckeys, cwindows) AS u(w, c, win) WHERE c IS NOT NULL AND win IS NOT NULL) AS ks
      JOIN jobs j ON j.workspace = ks.w AND j.concurrency_key = ks.c AND j.status <> 'queued'
      JOIN attempts a ON a.job_id = j.id
      WHERE a.claimed_at > p_now - (SELECT max(win) FROM unnest(cwindows) AS x(win))
      GROUP BY 1) s;
  END IF;
  IF EXISTS (SELECT 1 FROM unnest(rkeys) AS u(k) WHERE k IS NOT NULL) THEN
    SELECT coalesce(jsonb_object_agg(json_build_array(r.workspace, r.key)::text, r.next_start), '{}') INTO rate_next
    FROM (SELECT DISTINCT w, k FROM unnest(wss, rkeys) AS u(w, k) WHERE k IS NOT NULL) AS ks
    JOIN rate_limits r ON r.workspace = ks.w AND r.key = ks.k;
  END IF;

  -- Admission (flow-control.ts admit): a concurrency key admits while fewer than its limit run
  -- (with a window: while fewer than its limit started within it); a rate key admits one start,
  -- then none until per / limit later. Held back by time: deferred to when it may start.
  i := 0;
  WHILE i < n AND cardinality(claim_ids) < p_limit LOOP
    i := i + 1;
    due_at := 0;
    is_full := false;
    ck := CASE WHEN ckeys[i] IS NULL THEN NULL ELSE json_build_array(wss[i], ckeys[i])::text END;
    rk := CASE WHEN rkeys[i] IS NULL THEN NULL ELSE json_build_array(wss[i], rkeys[i])::text END;
    IF ck IS NOT NULL AND cwindows[i] IS NULL THEN
      is_full := coalesce((running ->> ck)::BIGINT, 0) >= coalesce(climits[i], 1);
    ELSIF ck IS NOT NULL THEN
      recent := ARRAY(SELECT e::BIGINT FROM jsonb_array_elements_text(coalesce(starts -> ck, '[]')) AS x(e)
                      WHERE e::BIGINT > p_now - cwindows[i] ORDER BY 1);
      IF cardinality(recent) >= coalesce(climits[i], 1) THEN
        due_at := greatest(due_at, recent[cardinality(recent) - coalesce(climits[i], 1) + 1] + cwindows[i]);
      END IF;
    END IF;
    IF rk IS NOT NULL THEN
      nxt := coalesce((rate_next ->> rk)::BIGINT, 0);
      IF nxt > p_now THEN due_at := greatest(due_at, nxt); END IF;
    END IF;
    IF due_at > p_now THEN
      defer_ids := defer_ids || ids[i];
      defer_untils := defer_untils || due_at;
      CONTINUE;
    END IF;
    CONTINUE WHEN is_full;
    claim_ids := claim_ids || ids[i];
    IF ck IS NOT NULL AND cwindows[i] IS NULL THEN
      running := jsonb_set(running, ARRAY[ck], to_jsonb(coalesce((running ->> ck)::BIGINT, 0) + 1));
    ELSIF ck IS NOT NULL THEN
      starts := jsonb_set(starts, ARRAY[ck], coalesce(starts -> ck, '[]') || to_jsonb(p_now));
    END IF;
    IF rk IS NOT NULL THEN
      nxt := p_now + ceil(coalesce(rpers[i], 1000)::NUMERIC / coalesce(rlimits[i], 1))::BIGINT;
      rate_next := jsonb_set(rate_next, ARRAY[rk], to_jsonb(nxt));
      rate_moved := jsonb_set(rate_moved, ARRAY[rk], jsonb_build_array(wss[i], rkeys[i], nxt));
    END IF;
  END LOOP;

  -- The writes: deferred jobs' due times, rate keys' next starts, the claimed jobs and their attempts.
  IF cardinality(defer_ids) > 0 THEN
    UPDATE jobs j SET scheduled_for = d.due FROM unnest(defer_ids, defer_untils) AS d(id, due)
    WHERE j.id = d.id AND j.status = 'queued';
  END IF;
  IF rate_moved <> '{}' THEN
    INSERT INTO rate_limits (workspace, key, next_start)
    SELECT v ->> 0, v ->> 1, (v ->> 2)::BIGINT FROM jsonb_each(rate_moved) AS e(k, v)
    ON CONFLICT (workspace, key) DO UPDATE SET next_start = excluded.next_start;
  END IF;
  WITH claimed AS (
    UPDATE jobs j SET status = 'running', worker = p_worker, lease_until = p_lease_until, attempt = j.attempt + 1,
                      started_at = NULL
    WHERE j.id = ANY(claim_ids) AND j.status = 'queued'
    RETURNING j.*
  ), recorded AS (
    INSERT INTO attempts (job_id, attempt, worker, claimed_at, status)
    SELECT c.id, c.attempt, p_worker, p_now, 'running' FROM claimed c
  )
  SELECT coalesce(json_agg(to_json(c) ORDER BY array_position(claim_ids, c.id)), '[]') INTO claimed_jobs FROM claimed c;
  deferred_until := (SELECT min(u) FROM unnest(defer_untils) AS x(u));
END
$fn$;`;
}
