import Database from 'better-sqlite3';
import { ConfigError } from '../../errors.js';
import { newJobId } from '../../ids.js';
import {
  DEFAULT_TAG,
  DEFAULT_WORKSPACE,
  jobName,
  type AttemptRecord,
  type JobKind,
  type ErrorRecord,
  type JobFilter,
  type JobRecord,
  type JobSpec,
  type Json,
  type LogLine,
  type NewLogLine,
  type Outcome,
  type TokenRecord,
  type WorkerRecord,
} from '../../types.js';
import { toAttemptRecord, toJobRecord, toLogLine, type AttemptRow, type JobRow, type LogRow } from '../rows.js';
import type { CancelRequest, ClaimRequest, EnqueueResult, ExpiredLeases, Store } from '../store.js';
import { MIGRATIONS } from './migrations.js';
import { SqliteTokens } from './tokens.js';
import { storableLine } from '../log-text.js';
import { explainDamageIn, openSqliteFile, type OpenSqliteOptions } from './open-file.js';

export interface SqliteStoreOptions extends OpenSqliteOptions {
  /** A file path, or ':memory:'. The file's directory is created when missing. */
  file: string;
}

/** The embedded store: one SQLite file in WAL mode, written by this process. */
export class SqliteStore implements Store {
  readonly file: string;
  /** Opened read-only (the file is not writable and only reads were asked for): writes are refused. */
  readonly readOnly: boolean;
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly tokens: SqliteTokens;
  /** `list` builds its SQL from the filter; each shape is prepared once. */
  private readonly listStatements = new Map<string, Database.Statement>();
  /** Promises of writes made in this tick's transaction, settled when it commits. */
  private pendingCommit: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** A job's place in its run, for forwarding log lines to its ancestors. */
  private readonly placeCache = new Map<string, { path: string; name: string }>();

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    ({ db: this.db, readOnly: this.readOnly } = openSqliteFile(options.file, options));
    this.stmt = prepare(this.db);
    this.tokens = new SqliteTokens(this.db);
  }

  async enqueue(spec: JobSpec): Promise<EnqueueResult> {
    return this.write((): EnqueueResult => {
      if (spec.idempotencyKey !== undefined) {
        const existing = this.stmt.byIdempotencyKey.get(spec.workspace ?? DEFAULT_WORKSPACE, spec.idempotencyKey) as JobRow | undefined;
        if (existing) return { job: toJobRecord(existing), created: false };
      }
      if (spec.parentJob && spec.callKey) {
        const existing = this.stmt.byCallKey.get(spec.parentJob, spec.callKey) as JobRow | undefined;
        if (existing && (existing.status === 'failure' || existing.status === 'canceled') && !this.replaying(spec.parentJob)) {
          // The parent runs again (a retry) and makes the call that failed: the child runs
          // again too, as further attempts of the same job; its earlier ones stay recorded.
          const again = this.stmt.runAgain.get({
            id: existing.id,
            extra: spec.maxAttempts ?? spec.retry?.attempts ?? 1,
            now: Date.now(),
          }) as JobRow;
          return { job: toJobRecord(again), created: true };
        }
        if (existing) return { job: toJobRecord(existing), created: false };
      }
      return { job: this.insertJob(spec, 'queued'), created: true };
    });
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    const row = this.stmt.byCallKey.get(parentJob, callKey) as JobRow | undefined;
    return row && toJobRecord(row);
  }

  async record(spec: JobSpec & { parentJob: string; callKey: string }, outcome: Outcome, startedAt: number, at: number): Promise<EnqueueResult> {
    return this.write((): EnqueueResult => {
      const existing = this.stmt.byCallKey.get(spec.parentJob, spec.callKey) as JobRow | undefined;
      if (existing) return { job: toJobRecord(existing), created: false };
      const job = this.insertJob(spec, 'running');
      this.stmt.firstAttempt.run({ id: job.id, at: startedAt });
      const row = this.stmt.complete.get({
        id: job.id,
        status: outcome.status,
        result: outcome.status === 'success' ? JSON.stringify(outcome.result) : null,
        error: outcome.status === 'success' ? null : JSON.stringify(outcome.error),
        at,
      }) as JobRow;
      return { job: toJobRecord(row), created: true };
    });
  }

  /**
   * Whether a parent runs again to replay (its last attempt was lost with its worker or its
   * thread), rather than because it failed: a replay gets the calls it made as they ended,
   * failures included, where a retry runs its failed calls again.
   */
  private replaying(parentJob: string): boolean {
    const row = this.stmt.previousAttemptError.get(parentJob) as { code: string | null } | undefined;
    return row !== undefined && row.code !== null && REPLAY_CODES.includes(row.code);
  }

  /** Inserts a job row; inside a write. */
  private insertJob(spec: JobSpec, status: 'queued' | 'running'): JobRecord {
    const id = spec.id ?? newJobId();
    let rootJob = id;
    let path = id;
    if (spec.parentJob) {
      const parent = this.stmt.place.get(spec.parentJob) as { root_job: string; path: string } | undefined;
      if (!parent) throw new ConfigError(`Parent job ${spec.parentJob} does not exist`);
      rootJob = parent.root_job;
      path = `${parent.path}/${id}`;
    }
    const now = Date.now();
    const row = this.stmt.insert.get({
      status,
      idempotency_key: spec.idempotencyKey ?? null,
      id,
      workspace: spec.workspace ?? DEFAULT_WORKSPACE,
      kind: spec.kind,
      script_path: spec.scriptPath,
      script_hash: spec.scriptHash,
      entrypoint: spec.entrypoint,
      args: JSON.stringify(spec.args),
      tag: spec.tag ?? DEFAULT_TAG,
      parent_job: spec.parentJob ?? null,
      root_job: rootJob,
      path,
      call_key: spec.callKey ?? null,
      max_attempts: spec.maxAttempts ?? spec.retry?.attempts ?? 1,
      retry: spec.retry ? JSON.stringify(spec.retry) : null,
      timeout_s: spec.timeout ?? null,
      created_at: now,
      scheduled_for: spec.scheduledFor ?? now + (spec.delayMs ?? 0),
    }) as JobRow;
    return toJobRecord(row);
  }

  async claim(request: ClaimRequest): Promise<JobRecord[]> {
    if (request.limit <= 0) return [];
    const now = Date.now();
    return this.write(() => {
      // Select first, then claim each by id: an UPDATE over a subquery costs a write even
      // when it finds nothing, and most wake-ups of an idle worker find nothing.
      const due = this.stmt.due.all({
        now,
        all_tags: request.tags === 'all' ? 1 : 0,
        tags: JSON.stringify(request.tags === 'all' ? [] : request.tags),
        roots: request.rootJobs ? JSON.stringify([...request.rootJobs]) : null,
        workspace: request.workspace ?? null,
        limit: request.limit,
      }) as { id: string }[];
      const claimed: JobRecord[] = [];
      for (const { id } of due) {
        const row = this.stmt.claimOne.get({ id, worker: request.workerId, lease_until: now + request.leaseMs }) as JobRow | undefined;
        if (!row) continue;
        this.stmt.insertAttempt.run({ job_id: row.id, attempt: row.attempt, worker: request.workerId, claimed_at: now });
        claimed.push(toJobRecord(row));
      }
      return claimed;
      // A claim lost in a crash before its commit leaves the job queued, as if never claimed:
      // the claimer need not wait for the commit.
    }, { awaitCommit: false });
  }

  async markStarted(jobId: string, at: number): Promise<void> {
    // Only a timestamp: nothing depends on it being on disk before the job goes on.
    await this.write(() => {
      this.stmt.markStarted.run({ id: jobId, at });
      this.stmt.attemptStarted.run({ id: jobId, at });
    }, { awaitCommit: false });
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const ids = JSON.stringify(jobIds);
    return this.write(() => {
      this.stmt.renew.run({ worker: workerId, ids, lease_until: Date.now() + leaseMs });
      const mine = new Set((this.stmt.stillMine.all({ worker: workerId, ids }) as { id: string }[]).map((r) => r.id));
      return jobIds.filter((id) => !mine.has(id));
    });
  }

  async complete(jobId: string, outcome: Outcome, at: number): Promise<JobRecord | undefined> {
    const result = outcome.status === 'success' ? JSON.stringify(outcome.result) : null;
    const error = outcome.status === 'success' ? null : JSON.stringify(outcome.error);
    return this.write(() => {
      const row = this.stmt.complete.get({ id: jobId, status: outcome.status, result, error, at }) as JobRow | undefined;
      if (!row) return undefined;
      this.stmt.attemptDone.run({ id: jobId, attempt: row.attempt, status: outcome.status, error, at });
      this.placeCache.delete(jobId);
      return toJobRecord(row);
    });
  }

  async retry(jobId: string, error: ErrorRecord, scheduledFor: number): Promise<JobRecord | undefined> {
    const at = Date.now();
    return this.write(() => {
      const row = this.stmt.requeue.get({ id: jobId, scheduled_for: scheduledFor }) as JobRow | undefined;
      if (!row) return undefined;
      this.stmt.attemptDone.run({ id: jobId, attempt: row.attempt, status: 'failure', error: JSON.stringify(error), at });
      return toJobRecord(row);
    });
  }

  async release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined> {
    return this.write(() => {
      const job = this.stmt.get.get(jobId) as JobRow | undefined;
      if (!job || job.status !== 'running') return undefined;
      const attempt = Number(job.attempt);
      this.stmt.attemptDone.run({ id: jobId, attempt, status: 'failure', error: JSON.stringify(error), at });
      this.stmt.allowAttempt.run({ id: jobId, attempt: attempt + 1 });
      return toJobRecord(this.stmt.requeue.get({ id: jobId, scheduled_for: at }) as JobRow);
    });
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const at = Date.now();
    return this.write(() => {
      const target = this.stmt.place.get(jobId) as { root_job: string; path: string } | undefined;
      if (!target) return [];
      const error = JSON.stringify({ name: 'CanceledError', message: request.reason, code: 'CANCELED' } satisfies ErrorRecord);
      const rows = this.stmt.cancelTree.all({
        id: jobId,
        root: target.root_job,
        prefix: `${target.path}/`,
        reason: request.reason,
        by: request.by,
        error,
        at,
      }) as JobRow[];
      for (const row of rows) {
        this.stmt.attemptDone.run({ id: row.id, attempt: row.attempt, status: 'canceled', error, at });
      }
      return rows.map(toJobRecord);
    });
  }

  async expireLeases(now: number, maxLostLeases: number): Promise<ExpiredLeases> {
    // A reader's Coordinator sweeps too; on a file it may not write, that is the writer's job.
    if (this.readOnly) return { requeued: [], failed: [] };
    return this.write((): ExpiredLeases => {
      const expired = (this.stmt.expired.all({ now }) as JobRow[]).map(toJobRecord);
      const out: ExpiredLeases = { requeued: [], failed: [] };
      for (const job of expired) {
        const lost: ErrorRecord = {
          name: 'LeaseExpiredError',
          code: 'LEASE_EXPIRED',
          message: `Worker ${job.worker} stopped renewing its lease on attempt ${job.attempt} (it died or lost contact)`,
        };
        this.stmt.attemptDone.run({ id: job.id, attempt: job.attempt, status: 'failure', error: JSON.stringify(lost), at: now });
        const lostSoFar = (this.stmt.countLostLeases.get(job.id) as { n: number }).n;
        if (lostSoFar < maxLostLeases) {
          this.stmt.allowAttempt.run({ id: job.id, attempt: job.attempt + 1 });
          out.requeued.push(toJobRecord(this.stmt.requeue.get({ id: job.id, scheduled_for: now }) as JobRow));
        } else {
          const error: ErrorRecord = {
            ...lost,
            message: `${lost.message}. Its workers were lost ${lostSoFar} times, the most allowed, so the job failed.`,
          };
          const row = this.stmt.complete.get({ id: job.id, status: 'failure', result: null, error: JSON.stringify(error), at: now });
          out.failed.push(toJobRecord(row as JobRow));
        }
      }
      return out;
    });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const row = this.stmt.get.get(jobId) as JobRow | undefined;
    return row && toJobRecord(row);
  }

  async matchIds(prefix: string, limit: number): Promise<string[]> {
    const rows = this.stmt.matchIds.all({ lo: prefix, hi: `${prefix}\uffff`, limit }) as { id: string }[];
    return rows.map((r) => r.id);
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    // With ids, the primary key is the way in: `+column` keeps SQLite from choosing another
    // index (a scan of the whole workspace) for the other terms.
    const col = (name: string) => (filter.ids ? `+${name}` : name);
    if (filter.ids) (where.push('id IN (SELECT value FROM json_each(@ids))'), (params.ids = JSON.stringify(filter.ids)));
    if (filter.workspace) (where.push(`${col('workspace')} = @workspace`), (params.workspace = filter.workspace));
    if (filter.status?.length) (where.push(`${col('status')} IN (SELECT value FROM json_each(@status))`), (params.status = JSON.stringify(filter.status)));
    if (filter.tag) (where.push('tag = @tag'), (params.tag = filter.tag));
    if (filter.scriptPath) (where.push('script_path = @script'), (params.script = filter.scriptPath));
    if (filter.parentJob) (where.push(`${col('parent_job')} = @parent`), (params.parent = filter.parentJob));
    if (filter.rootJob) (where.push(`${col('root_job')} = @root`), (params.root = filter.rootJob));
    if (filter.rootsOnly) where.push('parent_job IS NULL');
    if (filter.before !== undefined) (where.push('created_at < @before'), (params.before = filter.before));
    params.limit = filter.limit ?? 50;
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT @limit`;
    let stmt = this.listStatements.get(sql);
    if (!stmt) this.listStatements.set(sql, (stmt = this.db.prepare(sql)));
    return (stmt.all(params) as JobRow[]).map(toJobRecord);
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return (this.stmt.attempts.all(jobId) as AttemptRow[]).map(toAttemptRecord);
  }

  async descendants(jobId: string): Promise<JobRecord[]> {
    const target = this.stmt.place.get(jobId) as { root_job: string; path: string } | undefined;
    if (!target) return [];
    const rows = this.stmt.descendants.all({ root: target.root_job, prefix: `${target.path}/` }) as JobRow[];
    return rows.map(toJobRecord);
  }

  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const place = this.place(jobId);
    if (!place) return [];
    const ancestors = place.path.split('/').slice(0, -1);
    return this.write(() => {
      const written: LogLine[] = [];
      for (const l of lines) {
        const line = storableLine(l.line);
        written.push(toLogLine(this.stmt.insertLog.get({ job_id: jobId, ts: l.ts, stream: l.stream, line, src_job: null, src_name: null }) as LogRow));
        for (const ancestor of ancestors) {
          const row = this.stmt.insertLog.get({ job_id: ancestor, ts: l.ts, stream: l.stream, line, src_job: jobId, src_name: place.name });
          written.push(toLogLine(row as LogRow));
        }
      }
      return written;
    });
  }

  async readLogs(jobId: string, options: { after?: number; limit?: number; ownOnly?: boolean } = {}): Promise<LogLine[]> {
    const params = { job_id: jobId, after: options.after ?? 0, limit: options.limit ?? 10_000 };
    const rows = (options.ownOnly ? this.stmt.readOwnLogs : this.stmt.readLogs).all(params) as LogRow[];
    return rows.map(toLogLine);
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.write(() => this.tokens.create(token));
  }

  async findToken(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.tokens.get(tokenHash);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return this.tokens.list();
  }

  async revokeToken(tokenHash: string, at: number): Promise<boolean> {
    return this.write(() => this.tokens.revoke(tokenHash, at));
  }

  async touchToken(tokenHash: string, at: number): Promise<void> {
    await this.write(() => this.tokens.touch(tokenHash, at));
  }

  async setFlowStatus(jobId: string, status: Json): Promise<void> {
    await this.write(() => this.stmt.setFlowStatus.run({ job_id: jobId, status: JSON.stringify(status), now: Date.now() }));
  }

  async getFlowStatus(jobId: string): Promise<Json | undefined> {
    const row = this.stmt.getFlowStatus.get(jobId) as { status: string } | undefined;
    return row ? (JSON.parse(row.status) as Json) : undefined;
  }

  async countTokens(): Promise<number> {
    return this.tokens.countAll();
  }

  async touchWorker(worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>, now: number): Promise<void> {
    await this.write(() =>
      this.stmt.touchWorker.run({
        id: worker.id,
        workspace: worker.workspace,
        tags: JSON.stringify(worker.tags),
        hostname: worker.hostname,
        now,
      }),
    );
  }

  async listWorkers(workspace: string, since: number): Promise<WorkerRecord[]> {
    const rows = this.stmt.listWorkers.all({ workspace, since }) as {
      id: string; workspace: string; tags: string; hostname: string; started_at: number; last_seen: number; jobs: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      workspace: r.workspace,
      tags: JSON.parse(r.tags) as string[] | 'all',
      hostname: r.hostname,
      startedAt: r.started_at,
      lastSeen: r.last_seen,
      jobs: r.jobs ? (JSON.parse(r.jobs) as string[]) : [],
    }));
  }

  async close(): Promise<void> {
    this.commit();
    if (this.db.open) this.db.close();
  }

  /**
   * Runs a write in this tick's transaction and resolves once that transaction has
   * committed: a burst of writes (a fan-out's children) costs one commit, and no caller hears
   * of a write before it is durable. Each write is its own savepoint, so a failing one undoes
   * only itself.
   */
  private write<T>(fn: () => T, options: { awaitCommit: boolean } = { awaitCommit: true }): Promise<T> {
    if (this.readOnly) {
      return Promise.reject(new ConfigError(`The SQLite store at ${this.file} is open read-only (this user may not write the file): this command cannot change it`));
    }
    if (!this.db.inTransaction) {
      this.db.exec('BEGIN IMMEDIATE');
      setImmediate(() => this.commit());
    }
    let value: T;
    try {
      value = this.db.transaction(fn)();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!options.awaitCommit) return Promise.resolve(value);
    return new Promise<T>((resolve, reject) => this.pendingCommit.push({ resolve: () => resolve(value), reject }));
  }

  private commit(): void {
    const waiting = this.pendingCommit.splice(0);
    try {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const w of waiting) w.reject(err);
      return;
    }
    for (const w of waiting) w.resolve();
  }

  private place(jobId: string): { path: string; name: string } | undefined {
    let place = this.placeCache.get(jobId);
    if (!place) {
      const row = this.stmt.placeAndName.get(jobId) as { path: string; kind: string; entrypoint: string; script_path: string } | undefined;
      if (!row) return undefined;
      place = { path: row.path, name: jobName({ kind: row.kind as JobKind, entrypoint: row.entrypoint, scriptPath: row.script_path }) };
      if (this.placeCache.size > 10_000) this.placeCache.clear();
      this.placeCache.set(jobId, place);
    }
    return place;
  }
}

const UNFINISHED = `status IN ('queued', 'running')`;
/** Attempts that ended through no fault of the job's: the next one replays. */
const REPLAY_CODES = ['LEASE_EXPIRED', 'RELEASED'];

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(`
      INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                        path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key)
      VALUES (@id, @workspace, @kind, @script_path, @script_hash, @entrypoint, @args, @tag, @status, @parent_job, @root_job,
              @path, @call_key, @max_attempts, @retry, @timeout_s, @created_at, @scheduled_for, @idempotency_key)
      RETURNING *`),
    byCallKey: db.prepare('SELECT * FROM jobs WHERE parent_job = ? AND call_key = ?'),
    previousAttemptError: db.prepare(`
      SELECT json_extract(a.error, '$.code') AS code FROM attempts a JOIN jobs j ON a.job_id = j.id
      WHERE j.id = ? AND a.attempt = j.attempt - 1`),
    byIdempotencyKey: db.prepare('SELECT * FROM jobs WHERE workspace = ? AND idempotency_key = ?'),
    setFlowStatus: db.prepare(`
      INSERT INTO flow_status (job_id, status, updated_at) VALUES (@job_id, @status, @now)
      ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`),
    getFlowStatus: db.prepare('SELECT status FROM flow_status WHERE job_id = ?'),
    runAgain: db.prepare(`
      UPDATE jobs SET status = 'queued', max_attempts = attempt + @extra, scheduled_for = @now, worker = NULL,
                      lease_until = NULL, started_at = NULL, completed_at = NULL, duration_ms = NULL,
                      result = NULL, error = NULL, cancel_reason = NULL, canceled_by = NULL
      WHERE id = @id
      RETURNING *`),
    place: db.prepare('SELECT root_job, path FROM jobs WHERE id = ?'),
    placeAndName: db.prepare('SELECT path, kind, entrypoint, script_path FROM jobs WHERE id = ?'),
    get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
    matchIds: db.prepare('SELECT id FROM jobs WHERE id >= @lo AND id < @hi ORDER BY rowid DESC LIMIT @limit'),
    due: db.prepare(`
      SELECT id FROM jobs
      WHERE status = 'queued' AND scheduled_for <= @now
        AND (@all_tags = 1 OR tag IN (SELECT value FROM json_each(@tags)))
        AND (@roots IS NULL OR root_job IN (SELECT value FROM json_each(@roots)))
        AND (@workspace IS NULL OR workspace = @workspace)
      ORDER BY scheduled_for, rowid
      LIMIT @limit`),
    claimOne: db.prepare(`
      UPDATE jobs SET status = 'running', worker = @worker, lease_until = @lease_until, attempt = attempt + 1,
                      started_at = NULL
      WHERE id = @id AND status = 'queued'
      RETURNING *`),
    insertAttempt: db.prepare(
      `INSERT INTO attempts (job_id, attempt, worker, claimed_at, status) VALUES (@job_id, @attempt, @worker, @claimed_at, 'running')`,
    ),
    markStarted: db.prepare(`UPDATE jobs SET started_at = @at WHERE id = @id AND status = 'running'`),
    firstAttempt: db.prepare(`UPDATE jobs SET started_at = @at, attempt = 1 WHERE id = @id`),
    attemptStarted: db.prepare(
      `UPDATE attempts SET started_at = @at WHERE job_id = @id AND attempt = (SELECT attempt FROM jobs WHERE id = @id)`,
    ),
    renew: db.prepare(`
      UPDATE jobs SET lease_until = @lease_until
      WHERE worker = @worker AND status = 'running' AND id IN (SELECT value FROM json_each(@ids))`),
    stillMine: db.prepare(`
      SELECT id FROM jobs WHERE worker = @worker AND status = 'running' AND id IN (SELECT value FROM json_each(@ids))`),
    complete: db.prepare(`
      UPDATE jobs SET status = @status, result = @result, error = @error, completed_at = @at, lease_until = NULL,
                      duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE @at - started_at END
      WHERE id = @id AND ${UNFINISHED}
      RETURNING *`),
    attemptDone: db.prepare(`
      UPDATE attempts SET status = @status, error = @error, completed_at = @at
      WHERE job_id = @id AND attempt = @attempt AND status = 'running'`),
    requeue: db.prepare(`
      UPDATE jobs SET status = 'queued', worker = NULL, lease_until = NULL, started_at = NULL, scheduled_for = @scheduled_for
      WHERE id = @id AND status = 'running'
      RETURNING *`),
    cancelTree: db.prepare(`
      UPDATE jobs SET status = 'canceled', cancel_reason = @reason, canceled_by = @by, error = @error, completed_at = @at,
                      lease_until = NULL,
                      duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE @at - started_at END
      WHERE ${UNFINISHED} AND (id = @id OR (root_job = @root AND substr(path, 1, length(@prefix)) = @prefix))
      RETURNING *`),
    countLostLeases: db.prepare(
      `SELECT count(*) AS n FROM attempts WHERE job_id = ? AND status = 'failure' AND json_extract(error, '$.code') = 'LEASE_EXPIRED'`,
    ),
    allowAttempt: db.prepare('UPDATE jobs SET max_attempts = max(max_attempts, @attempt) WHERE id = @id'),
    expired: db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_until < @now`),
    descendants: db.prepare(`
      SELECT * FROM jobs WHERE root_job = @root AND substr(path, 1, length(@prefix)) = @prefix
      ORDER BY rowid`),
    attempts: db.prepare('SELECT * FROM attempts WHERE job_id = ? ORDER BY attempt'),
    touchWorker: db.prepare(`
      INSERT INTO workers (id, workspace, tags, hostname, started_at, last_seen) VALUES (@id, @workspace, @tags, @hostname, @now, @now)
      ON CONFLICT (id) DO UPDATE SET tags = @tags, last_seen = @now`),
    listWorkers: db.prepare(`
      SELECT w.*, (SELECT json_group_array(j.id) FROM jobs j WHERE j.worker = w.id AND j.status = 'running') AS jobs
      FROM workers w WHERE w.workspace = @workspace AND w.last_seen >= @since ORDER BY w.started_at`),
    insertLog: db.prepare(`
      INSERT INTO logs (job_id, ts, stream, line, src_job, src_name) VALUES (@job_id, @ts, @stream, @line, @src_job, @src_name)
      RETURNING *`),
    readLogs: db.prepare('SELECT * FROM logs WHERE job_id = @job_id AND seq > @after ORDER BY seq LIMIT @limit'),
    readOwnLogs: db.prepare(
      'SELECT * FROM logs WHERE job_id = @job_id AND seq > @after AND src_job IS NULL ORDER BY seq LIMIT @limit',
    ),
  };
}

explainDamageIn(SqliteStore.prototype, (store) => (store as SqliteStore).file);
