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
import type { Statements } from './statements.js';

/**
 * A claim on SQLite, inside the tick's write transaction. The one writer is this process, so
 * the keys' counts read here cannot change before the claim's updates: reading them and
 * taking the jobs is atomic without locks.
 */
/** The most candidates one read of a claim takes. */
const MAX_PAGE = 1024;

export function claimJobs(stmt: Statements, request: ClaimRequest, now: number): JobRecord[] {
  const claimed: JobRecord[] = [];
  const take = (id: string) => {
    const row = stmt.claimOne.get({ id, worker: request.workerId, lease_until: now + request.leaseMs }) as
      JobRow | undefined;
    if (!row) return;
    stmt.insertAttempt.run({ job_id: row.id, attempt: row.attempt, worker: request.workerId, claimed_at: now });
    claimed.push(toJobRecord(row));
  };
  const states: KeyStates = { running: new Map(), starts: new Map(), rateNext: new Map() };
  let deferredUntil = Infinity;
  // Pages of candidates: a key at its limit holds back its jobs, and the jobs behind them
  // must still be reached. Without keys the first page is the claim (the common case), so it
  // reads no more rows than the claim asks for (a worker freeing one slot asks for one); the
  // pages after it grow, so that a long run of held-back jobs takes few reads.
  let page = request.limit;
  const scope = {
    now,
    aged_before: agedBefore(now, request.priorityAgingMs),
    all_tags: request.tags === 'all' ? 1 : 0,
    tags: JSON.stringify(request.tags === 'all' ? [] : request.tags),
    roots: request.rootJobs ? JSON.stringify([...request.rootJobs]) : null,
    workspace: request.workspace ?? null,
  };
  // Priority aging: the aged jobs come first. Without any (the common case), the plain
  // statement, whose one index read costs less than the two of dueAged and their merge.
  const dueStatement = stmt.anyAged.get(scope) ? stmt.dueAged : stmt.due;
  for (let offset = 0; claimed.length < request.limit; page = Math.min(page * 4, MAX_PAGE)) {
    const due = dueStatement.all({ ...scope, limit: page, offset }) as Candidate[];
    if (due.length === 0) break;
    loadStates(stmt, due.filter(isKeyed), states, now);
    const decided = admit(due, states, now, request.limit - claimed.length);
    for (const id of decided.claim) take(id);
    for (const { id, until } of decided.defer) {
      stmt.defer.run({ id, until });
      deferredUntil = Math.min(deferredUntil, until);
    }
    for (const [k, next] of decided.rateNext) {
      const [workspace, key] = k.split('\0');
      stmt.setRateNext.run({ workspace, key, next });
    }
    if (due.length < page) break;
    // The jobs taken or deferred left the due queue: the next page starts after the ones held back.
    offset += due.length - decided.claim.length - decided.defer.length;
  }
  if (deferredUntil !== Infinity) request.onDeferred?.(deferredUntil);
  return claimed;
}

/** The state of the candidates' keys not read yet in this claim. */
function loadStates(stmt: Statements, keyed: readonly Candidate[], states: KeyStates, now: number): void {
  for (const c of keyed) {
    if (c.concurrency_key !== null) {
      const k = keyId(c.workspace, c.concurrency_key);
      if (c.concurrency_window_ms === null && !states.running.has(k)) {
        states.running.set(k, (stmt.runningOfKey.get(c.workspace, c.concurrency_key) as { n: number }).n);
      }
      if (c.concurrency_window_ms !== null && !states.starts.has(k)) {
        const since = now - Number(c.concurrency_window_ms);
        const rows = stmt.startsOfKey.all({ workspace: c.workspace, key: c.concurrency_key, since }) as { t: number }[];
        states.starts.set(
          k,
          rows.map((r) => r.t),
        );
      }
    }
    if (c.rate_key !== null) {
      const k = keyId(c.workspace, c.rate_key);
      if (!states.rateNext.has(k)) {
        const row = stmt.rateNext.get(c.workspace, c.rate_key) as { next_start: number } | undefined;
        states.rateNext.set(k, row?.next_start ?? 0);
      }
    }
  }
}

/** Queued and running counts per tag and per key. */
export function queueSummary(stmt: Statements, workspace: string): QueueSummary {
  const tags = (stmt.queueByTag.all({ workspace }) as CountRow[]).map((r) => ({
    tag: r.name,
    queued: Number(r.queued),
    running: Number(r.running),
  }));
  return {
    tags,
    keys: queueKeys(
      stmt.queueByConcurrencyKey.all({ workspace }) as CountRow[],
      stmt.queueByRateKey.all({ workspace }) as CountRow[],
    ),
  };
}
