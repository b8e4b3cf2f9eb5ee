import pg from 'pg';
import { ConfigError } from '../../errors.js';
import { newJobId } from '../../ids.js';
import {
  DEFAULT_TAG,
  DEFAULT_WORKSPACE,
  jobName,
  type AttemptRecord,
  type ErrorRecord,
  type JobFilter,
  type JobKind,
  type JobRecord,
  type JobSpec,
  type LogLine,
  type NewLogLine,
  type Json,
  type Outcome,
  type TokenRecord,
  type WorkerRecord,
} from '../../types.js';
import { toAttemptRecord, toJobRecord, toLogLine, type AttemptRow, type JobRow, type LogRow } from '../rows.js';
import type { CancelRequest, ClaimRequest, EnqueueResult, ExpiredLeases, Store, StoreChange } from '../store.js';
import { migratePg, PG_SCHEMA_VERSION, quoteIdent, schemaVersion, type MigrationReport } from './migrations.js';
import { PgTokens } from './tokens.js';
import { storableLine } from '../log-text.js';

export interface PgStoreOptions {
  /** A connection URL: postgres://user:password@host:port/database */
  url: string;
  /** Connections in this process's pool. @default 10 */
  poolSize?: number;
  /** The schema that holds millrace's tables; created when missing. @default 'public' */
  schema?: string;
  /** Apply pending migrations at open; without it, an out-of-date schema is an error. @default true */
  migrate?: boolean;
  /**
   * Hold a connection that LISTENs for other servers' changes, for `subscribe`. A short-lived
   * command (`millrace token create`, `migrate`) needs none. @default true
   */
  listen?: boolean;
}

export const DEFAULT_POOL_SIZE = 10;

/** Whether a `--db` value names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** A NOTIFY payload is limited to 8,000 bytes; ids are sent in chunks well under it. */
const NOTIFY_CHUNK_BYTES = 6000;

/** Reconnection delays of the LISTEN connection after it is lost, in ms. */
const RELISTEN_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

interface Wire {
  /** The Store instance that wrote it, so that it can ignore its own. */
  o: string;
  k: 'q' | 's' | 'l' | 'f';
  ids?: string[];
  due?: number;
}

type Tx = pg.PoolClient;

/** A jobs row as PostgreSQL returns it: with its insertion order. */
type PgJobRow = JobRow & { seq: string };

/**
 * Jobs in PostgreSQL, shared by many servers. Claims lock rows with FOR UPDATE SKIP LOCKED, so
 * servers never hand one job to two workers; every write tells the other servers what changed
 * with NOTIFY in the same transaction, so their waiters and log followers wake at its commit.
 */
export class PgStore implements Store {
  readonly url: string;
  readonly schema: string;
  readonly poolSize: number;
  private readonly pool: pg.Pool;
  private readonly tokens: PgTokens;
  private readonly channel: string;
  private readonly origin = newJobId();
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private listener: pg.Client | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;
  private relistenAttempt = 0;
  private closed = false;
  /** Changes of this tick, not yet announced; and the announcements under way, in order. */
  private announcing = { due: new Set<number>(), s: new Set<string>(), l: new Set<string>(), f: new Set<string>() };
  private announceScheduled = false;
  private announced: Promise<void> = Promise.resolve();
  /** New jobs of this tick, inserted together in one statement (see insertRow). */
  private inserting: { values: unknown[]; resolve: (row: JobRow | undefined) => void; reject: (err: unknown) => void }[] = [];
  /** A job's place in its run, for forwarding log lines to its ancestors. Places never change. */
  private readonly placeCache = new Map<string, { path: string; name: string }>();

  private constructor(options: PgStoreOptions, schema: string, poolSize: number) {
    this.url = options.url;
    this.schema = schema;
    this.poolSize = poolSize;
    this.channel = `millrace.${schema}`;
    this.pool = new pg.Pool({ ...connectionConfig(options.url, schema), max: poolSize });
    this.tokens = new PgTokens(this.pool);
    // An idle connection that breaks (the database restarted) is dropped from the pool; the
    // next query opens a fresh one. Without a handler, the error would end the process.
    this.pool.on('error', (err) => console.error(`millrace: PostgreSQL connection lost (${err.message}); reconnecting on next use`));
  }

  /** Connects, applies pending migrations (unless `migrate: false`) and starts listening. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const schema = checkSchemaName(options.schema ?? 'public');
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw new ConfigError(`The pool size must be a positive integer, got ${poolSize}`);
    if (!isPostgresUrl(options.url)) throw new ConfigError(`Expected a postgres:// or postgresql:// URL, got ${JSON.stringify(redact(options.url))}`);
    const store = new PgStore(options, schema, poolSize);
    try {
      const client = await store.pool.connect();
      try {
        if (options.migrate ?? true) {
          await migratePg(client, schema);
        } else {
          const version = await schemaVersion(client, schema);
          if (version !== PG_SCHEMA_VERSION) {
            throw new ConfigError(
              `The database schema "${schema}" is at version ${version}; this millrace needs ${PG_SCHEMA_VERSION}: run \`millrace migrate --db URL\``,
            );
          }
        }
      } finally {
        client.release();
      }
      if (options.listen ?? true) await store.listen();
    } catch (err) {
      await store.close();
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`Cannot open the PostgreSQL store at ${redact(options.url)}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  /** Applies pending migrations to the schema and closes: `millrace migrate`. */
  static async migrate(options: Pick<PgStoreOptions, 'url' | 'schema'>): Promise<MigrationReport> {
    const schema = checkSchemaName(options.schema ?? 'public');
    if (!isPostgresUrl(options.url)) throw new ConfigError(`Expected a postgres:// or postgresql:// URL, got ${JSON.stringify(redact(options.url))}`);
    const client = new pg.Client(connectionConfig(options.url, schema));
    try {
      await client.connect();
    } catch (err) {
      throw new ConfigError(`Cannot connect to PostgreSQL at ${redact(options.url)}: ${(err as Error).message}`, { cause: err });
    }
    try {
      return await migratePg(client, schema);
    } finally {
      await client.end();
    }
  }

  subscribe(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async enqueue(spec: JobSpec): Promise<EnqueueResult> {
    if (spec.idempotencyKey !== undefined) {
      const seen = await this.byIdempotencyKey(spec);
      if (seen) return { job: seen, created: false };
      try {
        return await this.insert(spec);
      } catch (err) {
        // A concurrent submission with the same key won the race: it is the job.
        const again = (err as { code?: string }).code === '23505' ? await this.byIdempotencyKey(spec) : undefined;
        if (again) return { job: again, created: false };
        throw err;
      }
    }
    return this.insert(spec);
  }

  private async byIdempotencyKey(spec: JobSpec): Promise<JobRecord | undefined> {
    const row = await one<JobRow>(this.pool, 'SELECT * FROM jobs WHERE workspace = $1 AND idempotency_key = $2', [
      spec.workspace ?? DEFAULT_WORKSPACE,
      spec.idempotencyKey,
    ]);
    return row && toJobRecord(row);
  }

  private async insert(spec: JobSpec): Promise<EnqueueResult> {
    const id = spec.id ?? newJobId();
    const now = Date.now();
    const scheduledFor = spec.scheduledFor ?? now + (spec.delayMs ?? 0);
    const values = [
      id,
      spec.workspace ?? DEFAULT_WORKSPACE,
      spec.kind,
      spec.scriptPath,
      spec.scriptHash,
      spec.entrypoint,
      JSON.stringify(spec.args),
      spec.tag ?? DEFAULT_TAG,
      spec.parentJob ?? null,
      spec.callKey ?? null,
      spec.maxAttempts ?? spec.retry?.attempts ?? 1,
      spec.retry ? JSON.stringify(spec.retry) : null,
      spec.timeout ?? null,
      now,
      scheduledFor,
      spec.idempotencyKey ?? null,
    ];
    // The common case in one statement: a new job, its place taken from its parent. Nothing
    // inserted means the call is already recorded, or the parent is missing: the slow path
    // below tells which.
    const row = await this.insertRow(values);
    if (row) {
      this.announce({ k: 'q', due: scheduledFor });
      return { job: toJobRecord(row), created: true };
    }
    if (!spec.parentJob) throw new ConfigError(`Job ${id} could not be recorded`);
    return this.transaction(async (tx, notify): Promise<EnqueueResult> => {
      const parent = await one<{ id: string }>(tx, 'SELECT id FROM jobs WHERE id = $1', [spec.parentJob]);
      if (!parent) throw new ConfigError(`Parent job ${spec.parentJob} does not exist`);
      const existing = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2 FOR UPDATE', [spec.parentJob, spec.callKey]);
      // The job that held the call key was rolled back between our insert and this look: again.
      if (!existing) return this.enqueue(spec);
      if ((existing.status === 'failure' || existing.status === 'canceled') && !(await replaying(tx, spec.parentJob!))) {
        // The parent runs again (a retry) and makes the call that failed: the child runs
        // again too, as further attempts of the same job; its earlier ones stay recorded.
        const again = await one<JobRow>(
          tx,
          `UPDATE jobs SET status = 'queued', max_attempts = attempt + $2, scheduled_for = $3, worker = NULL,
                           lease_until = NULL, started_at = NULL, completed_at = NULL, duration_ms = NULL,
                           result = NULL, error = NULL, cancel_reason = NULL, canceled_by = NULL
           WHERE id = $1
           RETURNING *`,
          [existing.id, spec.maxAttempts ?? spec.retry?.attempts ?? 1, now],
        );
        notify({ k: 'q', due: now });
        return { job: toJobRecord(again!), created: true };
      }
      return { job: toJobRecord(existing), created: false };
    });
  }

  /**
   * Inserts a new job (its values in INSERT_COLUMN_TYPES' order), or nothing when its call is already recorded
   * or its parent is missing. The jobs of one tick (a fan-out's task calls) go together, in
   * one statement and one round trip; should that statement fail, each job is tried alone, so
   * that an error reaches only the caller whose job caused it.
   */
  private insertRow(values: unknown[]): Promise<JobRow | undefined> {
    return new Promise((resolve, reject) => {
      this.inserting.push({ values, resolve, reject });
      if (this.inserting.length === 1) setImmediate(() => void this.flushInserts());
    });
  }

  private async flushInserts(): Promise<void> {
    const batch = this.inserting;
    this.inserting = [];
    const alone = (b: (typeof batch)[number]) =>
      this.pool.query<JobRow>(INSERT_SQL, b.values).then(({ rows }) => b.resolve(rows[0]), b.reject);
    if (batch.length === 1) return alone(batch[0]);
    try {
      const columns = INSERT_COLUMN_TYPES.map((_, c) => batch.map((b) => b.values[c]));
      const { rows } = await this.pool.query<JobRow>(INSERT_BATCH_SQL, columns);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const b of batch) b.resolve(byId.get(b.values[0] as string));
    } catch {
      // Nothing of the statement was written: each job again, alone.
      await Promise.all(batch.map(alone));
    }
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    const row = await one<JobRow>(this.pool, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2', [parentJob, callKey]);
    return row && toJobRecord(row);
  }

  async record(spec: JobSpec & { parentJob: string; callKey: string }, outcome: Outcome, startedAt: number, at: number): Promise<EnqueueResult> {
    return this.transaction(async (tx, notify): Promise<EnqueueResult> => {
      const parent = await one<{ root_job: string; path: string }>(tx, 'SELECT root_job, path FROM jobs WHERE id = $1', [spec.parentJob]);
      if (!parent) throw new ConfigError(`Parent job ${spec.parentJob} does not exist`);
      const id = spec.id ?? newJobId();
      const inserted = await one<JobRow>(
        tx,
        `INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job, path,
                           call_key, attempt, max_attempts, created_at, scheduled_for, started_at, completed_at, duration_ms, result, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, 1, $14::bigint, $14::bigint, $14::bigint, $15::bigint, $15::bigint - $14::bigint, $16, $17)
         ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
         RETURNING *`,
        [
          id,
          spec.workspace ?? DEFAULT_WORKSPACE,
          spec.kind,
          spec.scriptPath,
          spec.scriptHash,
          spec.entrypoint,
          JSON.stringify(spec.args),
          spec.tag ?? DEFAULT_TAG,
          outcome.status,
          spec.parentJob,
          parent.root_job,
          `${parent.path}/${id}`,
          spec.callKey,
          startedAt,
          at,
          outcome.status === 'success' ? JSON.stringify(outcome.result) : null,
          outcome.status === 'success' ? null : JSON.stringify(outcome.error),
        ],
      );
      if (inserted) {
        notify({ k: 'f', ids: [inserted.id] });
        return { job: toJobRecord(inserted), created: true };
      }
      const existing = await one<JobRow>(tx, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2', [spec.parentJob, spec.callKey]);
      return { job: toJobRecord(existing!), created: false };
    });
  }

  async release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined> {
    return this.transaction(async (tx, notify) => {
      const job = await one<JobRow>(tx, `SELECT * FROM jobs WHERE id = $1 AND status = 'running' FOR UPDATE`, [jobId]);
      if (!job) return undefined;
      const attempt = Number(job.attempt);
      await attemptDone(tx, jobId, attempt, 'failure', JSON.stringify(error), at);
      await tx.query('UPDATE jobs SET max_attempts = greatest(max_attempts, $2) WHERE id = $1', [jobId, attempt + 1]);
      const row = await requeue(tx, jobId, at);
      notify({ k: 'q', due: at });
      return row && toJobRecord(row);
    });
  }

  async claim(request: ClaimRequest): Promise<JobRecord[]> {
    if (request.limit <= 0) return [];
    const now = Date.now();
    // One statement: lock the oldest due rows no other claim holds, take them, record the
    // attempts. A concurrent claim on another server skips the locked rows instead of waiting.
    // It commits without waiting for the disk: a claim lost in a crash of the database leaves
    // the job queued, as if never claimed, and its worker hears at its next heartbeat that the
    // job is not its own (as with SQLite, whose claims do not wait for their commit either).
    const { rows } = await this.pool.query<JobRow>(
      `WITH due AS (
         SELECT id FROM jobs
         WHERE status = 'queued' AND scheduled_for <= $1
           AND ($2::boolean OR tag = ANY($3::text[]))
           AND ($4::text[] IS NULL OR root_job = ANY($4::text[]))
           AND ($5::text IS NULL OR workspace = $5::text)
         ORDER BY scheduled_for, seq
         LIMIT $6
         FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE jobs j SET status = 'running', worker = $7, lease_until = $8, attempt = j.attempt + 1, started_at = NULL
         FROM due WHERE j.id = due.id
         RETURNING j.*
       ), recorded AS (
         INSERT INTO attempts (job_id, attempt, worker, claimed_at, status)
         SELECT id, attempt, $7, $1, 'running' FROM claimed
       )
       SELECT claimed.* FROM claimed, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait
       ORDER BY scheduled_for, seq`,
      [
        now,
        request.tags === 'all',
        request.tags === 'all' ? [] : [...request.tags],
        request.rootJobs ? [...request.rootJobs] : null,
        request.workspace ?? null,
        request.limit,
        request.workerId,
        now + request.leaseMs,
      ],
    );
    return rows.map(toJobRecord);
  }

  async markStarted(jobId: string, at: number): Promise<void> {
    const result = await this.pool.query(
      `WITH job AS (UPDATE jobs SET started_at = $2 WHERE id = $1 AND status = 'running' RETURNING id, attempt),
       attempt AS (UPDATE attempts t SET started_at = $2 FROM job WHERE t.job_id = job.id AND t.attempt = job.attempt)
       -- Only a timestamp: nothing depends on it being on disk before the job goes on.
       SELECT id FROM job, (SELECT set_config('synchronous_commit', 'off', true)) AS no_wait`,
      [jobId, at],
    );
    if (rowCount(result) > 0) this.announce({ k: 's', ids: [jobId] });
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE jobs SET lease_until = $3 WHERE worker = $1 AND status = 'running' AND id = ANY($2::text[]) RETURNING id`,
      [workerId, [...jobIds], Date.now() + leaseMs],
    );
    const mine = new Set(rows.map((r) => r.id));
    return jobIds.filter((id) => !mine.has(id));
  }

  async complete(jobId: string, outcome: Outcome, at: number): Promise<JobRecord | undefined> {
    const result = outcome.status === 'success' ? JSON.stringify(outcome.result) : null;
    const error = outcome.status === 'success' ? null : JSON.stringify(outcome.error);
    // One statement, so one round trip: the job and its attempt.
    const { rows } = await this.pool.query<JobRow>(
      `WITH done AS (${COMPLETE_SQL}),
       attempt AS (
         UPDATE attempts t SET status = $2, error = $4, completed_at = $5
         FROM done WHERE t.job_id = done.id AND t.attempt = done.attempt AND t.status = 'running'
       )
       SELECT * FROM done`,
      [jobId, outcome.status, result, error, at],
    );
    if (!rows[0]) return undefined;
    this.announce({ k: 'f', ids: [jobId] });
    this.placeCache.delete(jobId);
    return toJobRecord(rows[0]);
  }

  async retry(jobId: string, error: ErrorRecord, scheduledFor: number): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(
      `WITH requeued AS (${REQUEUE_SQL}),
       attempt AS (
         UPDATE attempts t SET status = 'failure', error = $3, completed_at = $4
         FROM requeued WHERE t.job_id = requeued.id AND t.attempt = requeued.attempt AND t.status = 'running'
       )
       SELECT * FROM requeued`,
      [jobId, scheduledFor, JSON.stringify(error), Date.now()],
    );
    if (!rows[0]) return undefined;
    this.announce({ k: 'q', due: scheduledFor });
    return toJobRecord(rows[0]);
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const at = Date.now();
    return this.transaction(async (tx, notify) => {
      const target = await one<{ root_job: string; path: string }>(tx, 'SELECT root_job, path FROM jobs WHERE id = $1', [jobId]);
      if (!target) return [];
      const error = JSON.stringify({ name: 'CanceledError', message: request.reason, code: 'CANCELED' } satisfies ErrorRecord);
      const { rows } = await tx.query<PgJobRow>(
        `UPDATE jobs SET status = 'canceled', cancel_reason = $4, canceled_by = $5, error = $6, completed_at = $7,
                         lease_until = NULL,
                         duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE $7 - started_at END
         WHERE status IN ('queued', 'running') AND (id = $1 OR (root_job = $2 AND starts_with(path, $3)))
         RETURNING *`,
        [jobId, target.root_job, `${target.path}/`, request.reason, request.by, error, at],
      );
      if (rows.length === 0) return [];
      await tx.query(
        `UPDATE attempts a SET status = 'canceled', error = $3, completed_at = $4
         FROM unnest($1::text[], $2::int[]) AS c(job_id, attempt)
         WHERE a.job_id = c.job_id AND a.attempt = c.attempt AND a.status = 'running'`,
        [rows.map((r) => r.id), rows.map((r) => Number(r.attempt)), error, at],
      );
      notify({ k: 'f', ids: rows.map((r) => r.id) });
      return rows.sort((a, b) => Number(a.seq) - Number(b.seq)).map(toJobRecord);
    });
  }

  async expireLeases(now: number, maxLostLeases: number): Promise<ExpiredLeases> {
    return this.transaction(async (tx, notify): Promise<ExpiredLeases> => {
      // SKIP LOCKED: two servers sweeping at once split the expired jobs between them.
      const { rows } = await tx.query<JobRow>(
        `SELECT * FROM jobs WHERE status = 'running' AND lease_until < $1 ORDER BY seq FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const out: ExpiredLeases = { requeued: [], failed: [] };
      for (const job of rows.map(toJobRecord)) {
        const lost: ErrorRecord = {
          name: 'LeaseExpiredError',
          code: 'LEASE_EXPIRED',
          message: `Worker ${job.worker} stopped renewing its lease on attempt ${job.attempt} (it died or lost contact)`,
        };
        await attemptDone(tx, job.id, job.attempt, 'failure', JSON.stringify(lost), now);
        const counted = await one<{ n: number }>(
          tx,
          `SELECT count(*)::int AS n FROM attempts WHERE job_id = $1 AND status = 'failure' AND (error::jsonb ->> 'code') = 'LEASE_EXPIRED'`,
          [job.id],
        );
        const lostSoFar = counted!.n;
        if (lostSoFar < maxLostLeases) {
          await tx.query('UPDATE jobs SET max_attempts = greatest(max_attempts, $2) WHERE id = $1', [job.id, job.attempt + 1]);
          out.requeued.push(toJobRecord((await requeue(tx, job.id, now))!));
        } else {
          const error: ErrorRecord = {
            ...lost,
            message: `${lost.message}. Its workers were lost ${lostSoFar} times, the most allowed, so the job failed.`,
          };
          out.failed.push(toJobRecord((await this.completeRow(tx, job.id, 'failure', null, JSON.stringify(error), now))!));
        }
      }
      if (out.requeued.length > 0) notify({ k: 'q', due: now });
      if (out.failed.length > 0) notify({ k: 'f', ids: out.failed.map((j) => j.id) });
      return out;
    });
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const row = await one<JobRow>(this.pool, 'SELECT * FROM jobs WHERE id = $1', [jobId]);
    return row && toJobRecord(row);
  }

  async matchIds(prefix: string, limit: number): Promise<string[]> {
    // Ids are COLLATE "C": the range is the prefix's, byte by byte, straight off the key.
    const { rows } = await this.pool.query<{ id: string }>(
      'SELECT id FROM jobs WHERE id >= $1 AND id < $2 ORDER BY seq DESC LIMIT $3',
      [prefix, `${prefix}\uffff`, limit],
    );
    return rows.map((r) => r.id);
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const param = (value: unknown) => `$${params.push(value)}`;
    if (filter.ids) where.push(`id = ANY(${param([...filter.ids])}::text[])`);
    if (filter.workspace) where.push(`workspace = ${param(filter.workspace)}`);
    if (filter.status?.length) where.push(`status = ANY(${param(filter.status)}::text[])`);
    if (filter.tag) where.push(`tag = ${param(filter.tag)}`);
    if (filter.scriptPath) where.push(`script_path = ${param(filter.scriptPath)}`);
    if (filter.parentJob) where.push(`parent_job = ${param(filter.parentJob)}`);
    if (filter.rootJob) where.push(`root_job = ${param(filter.rootJob)}`);
    if (filter.rootsOnly) where.push('parent_job IS NULL');
    if (filter.before !== undefined) where.push(`created_at < ${param(filter.before)}`);
    const limit = param(filter.limit ?? 50);
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, seq DESC LIMIT ${limit}`;
    const { rows } = await this.pool.query<JobRow>(sql, params);
    return rows.map(toJobRecord);
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    const { rows } = await this.pool.query<AttemptRow>('SELECT * FROM attempts WHERE job_id = $1 ORDER BY attempt', [jobId]);
    return rows.map(toAttemptRecord);
  }

  async descendants(jobId: string): Promise<JobRecord[]> {
    const { rows } = await this.pool.query<JobRow>(
      `SELECT d.* FROM jobs t JOIN jobs d ON d.root_job = t.root_job AND starts_with(d.path, t.path || '/')
       WHERE t.id = $1 ORDER BY d.seq`,
      [jobId],
    );
    return rows.map(toJobRecord);
  }

  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const place = await this.place(jobId);
    if (!place) return [];
    const ancestors = place.path.split('/').slice(0, -1);
    const cols: { job: string[]; ts: number[]; stream: string[]; line: string[]; src: (string | null)[]; name: (string | null)[] } = {
      job: [], ts: [], stream: [], line: [], src: [], name: [],
    };
    const push = (job: string, l: NewLogLine, src: string | null, name: string | null) => {
      cols.job.push(job);
      cols.ts.push(l.ts);
      cols.stream.push(l.stream);
      cols.line.push(storableLine(l.line));
      cols.src.push(src);
      cols.name.push(name);
    };
    for (const l of lines) {
      push(jobId, l, null, null);
      for (const ancestor of ancestors) push(ancestor, l, jobId, place.name);
    }
    const root = place.path.split('/', 1)[0];
    // Followers read a log by cursor (seq > n), so within a log the lines must become visible
    // in seq order. Every append of a run writes to the root's log: appends of one run take
    // turns on the root's lock (taken before any seq is drawn), so their seqs commit in order.
    const { rows } = await this.pool.query<LogRow>(
      `WITH turn AS (SELECT pg_advisory_xact_lock(hashtextextended($7, 0))),
       inserted AS (
         INSERT INTO logs (job_id, ts, stream, line, src_job, src_name)
         SELECT l.* FROM turn, unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS l
         RETURNING *
       )
       SELECT * FROM inserted`,
      [cols.job, cols.ts, cols.stream, cols.line, cols.src, cols.name, root],
    );
    this.announce({ k: 'l', ids: [jobId, ...ancestors] });
    return rows.map(toLogLine).sort((x, y) => x.seq - y.seq);
  }

  async readLogs(jobId: string, options: { after?: number; limit?: number; ownOnly?: boolean } = {}): Promise<LogLine[]> {
    const { rows } = await this.pool.query<LogRow>(
      `SELECT * FROM logs WHERE job_id = $1 AND seq > $2 ${options.ownOnly ? 'AND src_job IS NULL' : ''} ORDER BY seq LIMIT $3`,
      [jobId, options.after ?? 0, options.limit ?? 10_000],
    );
    return rows.map(toLogLine);
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.tokens.create(token);
  }

  findToken(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.tokens.get(tokenHash);
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.tokens.list();
  }

  revokeToken(tokenHash: string, at: number): Promise<boolean> {
    return this.tokens.revoke(tokenHash, at);
  }

  touchToken(tokenHash: string, at: number): Promise<void> {
    return this.tokens.touch(tokenHash, at);
  }

  async setFlowStatus(jobId: string, status: Json): Promise<void> {
    await this.pool.query(
      `INSERT INTO flow_status (job_id, status, updated_at) VALUES ($1, $2, $3)
       ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
      [jobId, JSON.stringify(status), Date.now()],
    );
  }

  async getFlowStatus(jobId: string): Promise<Json | undefined> {
    const row = await one<{ status: string }>(this.pool, 'SELECT status FROM flow_status WHERE job_id = $1', [jobId]);
    return row ? (JSON.parse(row.status) as Json) : undefined;
  }

  countTokens(): Promise<number> {
    return this.tokens.countAll();
  }

  async touchWorker(worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>, now: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO workers (id, workspace, tags, hostname, started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $5)
       ON CONFLICT (id) DO UPDATE SET tags = EXCLUDED.tags, last_seen = EXCLUDED.last_seen`,
      [worker.id, worker.workspace, JSON.stringify(worker.tags), worker.hostname, now],
    );
  }

  async listWorkers(workspace: string, since: number): Promise<WorkerRecord[]> {
    const { rows } = await this.pool.query<{
      id: string; workspace: string; tags: string; hostname: string; started_at: string; last_seen: string; jobs: string[] | null;
    }>(
      `SELECT w.*, (SELECT json_agg(j.id ORDER BY j.seq) FROM jobs j WHERE j.worker = w.id AND j.status = 'running') AS jobs
       FROM workers w WHERE w.workspace = $1 AND w.last_seen >= $2 ORDER BY w.started_at, w.id`,
      [workspace, since],
    );
    return rows.map((r) => ({
      id: r.id,
      workspace: r.workspace,
      tags: JSON.parse(r.tags) as string[] | 'all',
      hostname: r.hostname,
      startedAt: Number(r.started_at),
      lastSeen: Number(r.last_seen),
      jobs: r.jobs ?? [],
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // What this tick wrote is still announced.
    await new Promise((resolve) => setImmediate(resolve));
    await this.announced;
    this.closed = true;
    clearTimeout(this.relistenTimer);
    this.listeners.clear();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Runs `fn` in a transaction; the changes it reports with `notify` are announced once it has committed. */
  private async transaction<T>(fn: (tx: Tx, notify: (change: Omit<Wire, 'o'>) => void) => Promise<T>): Promise<T> {
    const tx = await this.pool.connect();
    const changes: Omit<Wire, 'o'>[] = [];
    let broken: Error | undefined;
    try {
      await tx.query('BEGIN');
      const value = await fn(tx, (change) => changes.push(change));
      await tx.query('COMMIT');
      for (const change of changes) this.announce(change);
      return value;
    } catch (err) {
      await tx.query('ROLLBACK').catch((e: Error) => (broken = e));
      throw err;
    } finally {
      tx.release(broken);
    }
  }

  /**
   * Tells the other servers of a committed change. The changes of one tick go together, in
   * one NOTIFY transaction of their own after the writes have committed: a write holding
   * PostgreSQL's notification lock through its commit would make concurrent writes commit
   * one disk flush at a time. That transaction holds no data, so it commits without waiting
   * for the disk. (Should this process die between a write and its announcement, the other
   * servers' waiters hear of it when their long polls next look: within a minute.)
   */
  private announce(change: Omit<Wire, 'o'>): void {
    if (this.closed) return;
    if (change.k === 'q') this.announcing.due.add(change.due ?? 0);
    else for (const id of change.ids ?? []) this.announcing[change.k].add(id);
    if (this.announceScheduled) return;
    this.announceScheduled = true;
    setImmediate(() => {
      this.announceScheduled = false;
      const { due, s, l, f } = this.announcing;
      const payloads = [
        ...[...due].map((d) => JSON.stringify({ o: this.origin, k: 'q', due: d } satisfies Wire)),
        ...this.payloads({ k: 's', ids: [...s] }),
        ...this.payloads({ k: 'l', ids: [...l] }),
        ...this.payloads({ k: 'f', ids: [...f] }),
      ];
      this.announcing = { due: new Set(), s: new Set(), l: new Set(), f: new Set() };
      this.announced = this.announced
        .then(() =>
          this.pool.query(
            `SELECT set_config('synchronous_commit', 'off', true), (SELECT count(pg_notify($1, p)) FROM unnest($2::text[]) AS p)`,
            [this.channel, payloads],
          ),
        )
        .then(
          () => undefined,
          (err: Error) => console.error(`millrace: cannot tell the other servers of ${payloads.length} changes: ${err.message}`),
        );
    });
  }

  /** One change as NOTIFY payloads, its ids split so that each stays under the size limit; none for no ids. */
  private payloads(change: Omit<Wire, 'o'>): string[] {
    const base = { o: this.origin, ...change };
    if (!change.ids) return [JSON.stringify(base)];
    if (change.ids.length === 0) return [];
    const out: string[] = [];
    let chunk: string[] = [];
    let size = 0;
    for (const id of change.ids) {
      if (size + id.length + 3 > NOTIFY_CHUNK_BYTES && chunk.length > 0) {
        out.push(JSON.stringify({ ...base, ids: chunk }));
        chunk = [];
        size = 0;
      }
      chunk.push(id);
      size += Buffer.byteLength(id) + 3;
    }
    out.push(JSON.stringify({ ...base, ids: chunk }));
    return out;
  }

  private async completeRow(tx: Tx, jobId: string, status: string, result: string | null, error: string | null, at: number): Promise<JobRow | undefined> {
    return one<JobRow>(tx, COMPLETE_SQL, [jobId, status, result, error, at]);
  }

  private async place(jobId: string): Promise<{ path: string; name: string } | undefined> {
    let place = this.placeCache.get(jobId);
    if (!place) {
      const row = await one<{ path: string; kind: string; entrypoint: string; script_path: string }>(
        this.pool,
        'SELECT path, kind, entrypoint, script_path FROM jobs WHERE id = $1',
        [jobId],
      );
      if (!row) return undefined;
      place = { path: row.path, name: jobName({ kind: row.kind as JobKind, entrypoint: row.entrypoint, scriptPath: row.script_path }) };
      if (this.placeCache.size > 10_000) this.placeCache.clear();
      this.placeCache.set(jobId, place);
    }
    return place;
  }

  /** Opens the LISTEN connection; when it breaks, opens another and tells listeners to resync. */
  private async listen(): Promise<void> {
    const client = new pg.Client({ ...connectionConfig(this.url, this.schema), application_name: 'millrace-listen' });
    const lost = (err?: Error) => {
      if (this.listener !== client || this.closed) return;
      this.listener = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      console.error(`millrace: lost the PostgreSQL LISTEN connection${err ? ` (${err.message})` : ''}; reconnecting`);
      this.relisten();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (msg) => {
      if (msg.channel !== this.channel || !msg.payload) return;
      const wire = JSON.parse(msg.payload) as Wire;
      if (wire.o === this.origin) return;
      this.publish(fromWire(wire));
    });
    await client.connect();
    await client.query(`LISTEN ${quoteIdent(this.channel)}`);
    this.listener = client;
  }

  private relisten(): void {
    const delay = RELISTEN_DELAYS_MS[Math.min(this.relistenAttempt++, RELISTEN_DELAYS_MS.length - 1)];
    this.relistenTimer = setTimeout(() => {
      this.listen().then(
        () => {
          this.relistenAttempt = 0;
          // Whatever happened while we were deaf: waiters look at the store again.
          this.publish({ kind: 'resync' });
        },
        (err: Error) => {
          if (this.closed) return;
          console.error(`millrace: cannot LISTEN on PostgreSQL yet (${err.message}); retrying`);
          this.relisten();
        },
      );
    }, delay);
    this.relistenTimer.unref();
  }

  private publish(change: StoreChange): void {
    for (const listener of [...this.listeners]) listener(change);
  }
}

function fromWire(wire: Wire): StoreChange {
  switch (wire.k) {
    case 'q':
      return { kind: 'queued', dueAt: wire.due ?? 0 };
    case 's':
      return { kind: 'started', jobIds: wire.ids ?? [] };
    case 'l':
      return { kind: 'logs', jobIds: wire.ids ?? [] };
    case 'f':
      return { kind: 'finished', jobIds: wire.ids ?? [] };
  }
}

function connectionConfig(url: string, schema: string): pg.ClientConfig {
  // Every connection works in the store's schema: the SQL names tables unqualified.
  return { connectionString: url, options: `-c search_path=${schema}`, application_name: 'millrace' };
}

function checkSchemaName(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,39}$/.test(schema)) {
    throw new ConfigError(`A schema name is 1-40 lowercase letters, digits or _, not starting with a digit; got ${JSON.stringify(schema)}`);
  }
  return schema;
}

/** The URL with its password hidden, for messages. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

async function one<R extends pg.QueryResultRow>(on: pg.Pool | Tx, sql: string, params: unknown[] = []): Promise<R | undefined> {
  const { rows } = await on.query<R>(sql, params);
  return rows[0];
}

async function attemptDone(tx: Tx, jobId: string, attempt: number, status: string, error: string | null, at: number): Promise<void> {
  await tx.query(
    `UPDATE attempts SET status = $3, error = $4, completed_at = $5 WHERE job_id = $1 AND attempt = $2 AND status = 'running'`,
    [jobId, attempt, status, error, at],
  );
}

/** Attempts that ended through no fault of the job's: the next one replays. */
const REPLAY_CODES = ['LEASE_EXPIRED', 'RELEASED'];

/**
 * Whether a parent runs again to replay (its last attempt was lost with its worker or its
 * thread), rather than because it failed: a replay gets the calls it made as they ended,
 * failures included, where a retry runs its failed calls again.
 */
async function replaying(tx: Tx, parentJob: string): Promise<boolean> {
  const row = await one<{ code: string | null }>(
    tx,
    `SELECT (a.error::jsonb ->> 'code') AS code FROM attempts a JOIN jobs j ON a.job_id = j.id WHERE j.id = $1 AND a.attempt = j.attempt - 1`,
    [parentJob],
  );
  return row !== undefined && row.code !== null && REPLAY_CODES.includes(row.code);
}

async function requeue(tx: Tx, jobId: string, scheduledFor: number): Promise<JobRow | undefined> {
  return one<JobRow>(tx, REQUEUE_SQL, [jobId, scheduledFor]);
}

/** The values of a new job, in order, with their PostgreSQL types (for the batch's arrays). */
const INSERT_COLUMN_TYPES = [
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
] as const;

/** One new job, its root and path taken from its parent (none: the parent is missing or the call recorded). */
const INSERT_SQL = `
  WITH parent AS (SELECT root_job, path FROM jobs WHERE id = $9::text),
  place AS (
    SELECT coalesce(p.root_job, $1::text) AS root_job, CASE WHEN p.path IS NULL THEN $1::text ELSE p.path || '/' || $1::text END AS path
    FROM (SELECT 1) AS one LEFT JOIN parent p ON true
    WHERE $9::text IS NULL OR p.path IS NOT NULL
  ),
  inserted AS (
    INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                      path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key)
    SELECT $1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, place.root_job, place.path, $10, $11, $12, $13, $14, $15, $16 FROM place
    ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
    RETURNING *
  )
  SELECT * FROM inserted`;

/** INSERT_SQL for many jobs: each parameter an array, one element a job; taken in order (seq). */
const INSERT_BATCH_SQL = `
  WITH input AS (
    SELECT * FROM unnest(${INSERT_COLUMN_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ')})
      WITH ORDINALITY AS i(id, workspace, kind, script_path, script_hash, entrypoint, args, tag, parent_job, call_key,
                           max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key, n)
  )
  INSERT INTO jobs (id, workspace, kind, script_path, script_hash, entrypoint, args, tag, status, parent_job, root_job,
                    path, call_key, max_attempts, retry, timeout_s, created_at, scheduled_for, idempotency_key)
  SELECT i.id, i.workspace, i.kind, i.script_path, i.script_hash, i.entrypoint, i.args, i.tag, 'queued', i.parent_job,
         coalesce(p.root_job, i.id), CASE WHEN p.path IS NULL THEN i.id ELSE p.path || '/' || i.id END,
         i.call_key, i.max_attempts, i.retry, i.timeout_s, i.created_at, i.scheduled_for, i.idempotency_key
  FROM input i LEFT JOIN jobs p ON p.id = i.parent_job
  WHERE i.parent_job IS NULL OR p.path IS NOT NULL
  ORDER BY i.n
  ON CONFLICT (parent_job, call_key) WHERE call_key IS NOT NULL DO NOTHING
  RETURNING *`;

/** $1 job, $2 status, $3 result, $4 error, $5 at: the job's end; the first word stands. */
const COMPLETE_SQL = `
  UPDATE jobs SET status = $2, result = $3, error = $4, completed_at = $5, lease_until = NULL,
                  duration_ms = CASE WHEN started_at IS NULL THEN NULL ELSE $5 - started_at END
  WHERE id = $1 AND status IN ('queued', 'running')
  RETURNING *`;

/** $1 job, $2 due time: a running job back to the queue. */
const REQUEUE_SQL = `
  UPDATE jobs SET status = 'queued', worker = NULL, lease_until = NULL, started_at = NULL, scheduled_for = $2
  WHERE id = $1 AND status = 'running'
  RETURNING *`;

function rowCount(result: pg.QueryResult): number {
  return result.rowCount ?? 0;
}
