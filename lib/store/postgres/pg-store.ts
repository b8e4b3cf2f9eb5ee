import pg from 'pg';
import { realClock, type Clock } from '../../clock.js';
import { ConfigError } from '../../errors.js';
import { newJobId } from '../../ids.js';
import type {
  AttemptRecord,
  ErrorRecord,
  EventRecord,
  JobFilter,
  JobRecord,
  JobSpec,
  Json,
  LogLine,
  NewLogLine,
  Outcome,
  QueueSummary,
  TokenRecord,
  WorkerRecord,
  NewSchedule,
  ScheduleRecord,
  JobProgress,
  RunTrace,
} from '../../types.js';
import { PlaceCache, type Place, type PlaceRow } from '../policy.js';
import { outcomeColumns, toAttemptRecord, toJobRecord, type AttemptRow, type JobRow } from '../rows.js';
import type {
  CancelRequest,
  ClaimRequest,
  EnqueueResult,
  EventDelivery,
  ExpiredLeases,
  MigrationReport,
  Store,
  StoreChange,
} from '../store.js';
import { cancelTree } from './cancel.js';
import { listEvents, sendEvent, signingSecret, takeEvent } from './events.js';
import { JobInserts } from './inserts.js';
import { expireLeases, release } from './leases.js';
import { appendLogs, readLogs } from './logs.js';
import { migratePg, PG_SCHEMA_VERSION, schemaVersion } from './migrations.js';
import { Announcer, ChangeListener, type Change } from './notifications.js';
import { one, rowCount, transaction, type Tx } from './query.js';
import { claimJobs, queueSummary, type ClaimMemo } from './claim.js';
import { COMPLETE_WITH_ATTEMPT_SQL, listStatement, MARK_STARTED_SQL, RETRY_SQL } from './sql.js';
import { enqueue, record, type SubmitContext } from './submit.js';
import { PgTokens } from './tokens.js';
import { PgSchedules } from './schedules.js';
import { checkPostgresUrl, checkSchemaName, connectionConfig, DEFAULT_POOL_SIZE, redact } from './url.js';
import { listWorkers, touchWorker } from './workers.js';
import * as ops from './operations.js';
import type { LiveCount, PruneReport, PruneRequest, SchemaState } from '../operations.js';

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
  /** The time of created, due, claimed and leased-until stamps. @default realClock */
  clock?: Clock;
}

/**
 * Jobs in PostgreSQL, shared by many servers. Claims lock rows with FOR UPDATE SKIP LOCKED, so
 * servers never hand one job to two workers; after every write the store tells the other
 * servers what changed (notifications.ts), so their waiters and log followers wake at its commit.
 */
export class PgStore implements Store {
  readonly url: string;
  readonly schema: string;
  readonly poolSize: number;
  private readonly pool: pg.Pool;
  private readonly tokens: PgTokens;
  private readonly schedules: PgSchedules;
  private readonly announcer: Announcer;
  /** What enqueue and record use (submit.ts). */
  private readonly submit: SubmitContext;
  private readonly changes: ChangeListener;
  private readonly listeners = new Set<(change: StoreChange) => void>();
  private closed = false;
  private secret: Promise<string> | undefined;
  private readonly places = new PlaceCache();
  private readonly clock: Clock;
  private readonly claimMemo: ClaimMemo = { keyed: false };

  private constructor(options: PgStoreOptions, schema: string, poolSize: number) {
    this.url = options.url;
    this.clock = options.clock ?? realClock;
    this.schema = schema;
    this.poolSize = poolSize;
    const channel = `millrace.${schema}`;
    const origin = newJobId();
    this.pool = new pg.Pool({ ...connectionConfig(options.url, schema), max: poolSize });
    this.tokens = new PgTokens(this.pool);
    this.schedules = new PgSchedules(this.pool);
    this.announcer = new Announcer(this.pool, channel, origin);
    this.submit = {
      pool: this.pool,
      inserts: new JobInserts(this.pool),
      announce: (change) => this.announcer.announce(change),
      clock: this.clock,
    };
    this.changes = new ChangeListener({ url: options.url, schema, channel, origin }, (change) => {
      for (const listener of [...this.listeners]) listener(change);
    });
    // An idle connection that breaks (the database restarted) is dropped from the pool; the
    // next query opens a fresh one. Without a handler, the error would end the process.
    this.pool.on('error', (err) =>
      console.error(`millrace: PostgreSQL connection lost (${err.message}); reconnecting on next use`),
    );
  }

  /** Connects, applies pending migrations (unless `migrate: false`) and starts listening. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const schema = checkSchemaName(options.schema ?? 'public');
    const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
    if (!Number.isInteger(poolSize) || poolSize < 1)
      throw new ConfigError(`The pool size must be a positive integer, got ${poolSize}`);
    checkPostgresUrl(options.url);
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
      if (options.listen ?? true) await store.changes.listen();
    } catch (err) {
      await store.close();
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`Cannot open the PostgreSQL store at ${redact(options.url)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return store;
  }

  /** Applies pending migrations to the schema and closes: `millrace migrate`. */
  static async migrate(options: Pick<PgStoreOptions, 'url' | 'schema'>): Promise<MigrationReport> {
    const schema = checkSchemaName(options.schema ?? 'public');
    checkPostgresUrl(options.url);
    const client = new pg.Client(connectionConfig(options.url, schema));
    try {
      await client.connect();
    } catch (err) {
      throw new ConfigError(`Cannot connect to PostgreSQL at ${redact(options.url)}: ${(err as Error).message}`, {
        cause: err,
      });
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

  enqueue(spec: JobSpec): Promise<EnqueueResult> {
    return enqueue(this.submit, spec);
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    const row = await one<JobRow>(this.pool, 'SELECT * FROM jobs WHERE parent_job = $1 AND call_key = $2', [
      parentJob,
      callKey,
    ]);
    return row && toJobRecord(row);
  }

  record(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<EnqueueResult> {
    return record(this.submit, spec, outcome, startedAt, at);
  }

  release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined> {
    return this.transaction((tx, notify) => release(tx, notify, jobId, error, at));
  }

  async claim(request: ClaimRequest): Promise<JobRecord[]> {
    if (request.limit <= 0) return [];
    return claimJobs(this.pool, this.submit.announce, request, this.clock.now(), this.claimMemo);
  }

  queue(workspace: string): Promise<QueueSummary> {
    return queueSummary(this.pool, workspace);
  }

  async markStarted(jobId: string, at: number): Promise<void> {
    const result = await this.pool.query(MARK_STARTED_SQL, [jobId, at]);
    if (rowCount(result) > 0) this.announcer.announce({ k: 's', ids: [jobId] });
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string }>(
      `UPDATE jobs SET lease_until = $3 WHERE worker = $1 AND status = 'running' AND id = ANY($2::text[]) RETURNING id`,
      [workerId, [...jobIds], this.clock.now() + leaseMs],
    );
    const mine = new Set(rows.map((r) => r.id));
    return jobIds.filter((id) => !mine.has(id));
  }

  async finish(jobId: string, outcome: Outcome, at: number): Promise<JobRecord | undefined> {
    const { result, error } = outcomeColumns(outcome);
    const { rows } = await this.pool.query<JobRow>(COMPLETE_WITH_ATTEMPT_SQL, [
      jobId,
      outcome.status,
      result,
      error,
      at,
    ]);
    if (!rows[0]) return undefined;
    this.announcer.announce({ k: 'f', ids: [jobId] });
    // A slot of its concurrency key is free: other servers' claims look again.
    if (rows[0].concurrency_key) this.announcer.announce({ k: 'q', due: at });
    this.places.forget(jobId);
    return toJobRecord(rows[0]);
  }

  async retry(jobId: string, error: ErrorRecord, scheduledFor: number): Promise<JobRecord | undefined> {
    const { rows } = await this.pool.query<JobRow>(RETRY_SQL, [
      jobId,
      scheduledFor,
      JSON.stringify(error),
      this.clock.now(),
    ]);
    if (!rows[0]) return undefined;
    this.announcer.announce({ k: 'q', due: scheduledFor });
    return toJobRecord(rows[0]);
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const at = this.clock.now();
    const canceled = await this.transaction((tx, notify) => cancelTree(tx, notify, jobId, request, at));
    if (canceled.some((c) => c.flowControl?.concurrency)) this.announcer.announce({ k: 'q', due: at });
    return canceled;
  }

  expireLeases(now: number, maxLostLeases: number): Promise<ExpiredLeases> {
    return this.transaction((tx, notify) => expireLeases(tx, notify, now, maxLostLeases));
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
    const { sql, params } = listStatement(filter);
    const { rows } = await this.pool.query<JobRow>(sql, params);
    return rows.map(toJobRecord);
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    const { rows } = await this.pool.query<AttemptRow>('SELECT * FROM attempts WHERE job_id = $1 ORDER BY attempt', [
      jobId,
    ]);
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
    const written = await appendLogs(this.pool, jobId, place, lines);
    this.announcer.announce({ k: 'l', ids: [jobId, ...place.path.split('/').slice(0, -1)] });
    return written;
  }

  readLogs(jobId: string, options: { after?: number; limit?: number; ownOnly?: boolean } = {}): Promise<LogLine[]> {
    return readLogs(this.pool, jobId, options);
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
      [jobId, JSON.stringify(status), this.clock.now()],
    );
  }

  async getFlowStatus(jobId: string): Promise<Json | undefined> {
    const row = await one<{ status: string }>(this.pool, 'SELECT status FROM flow_status WHERE job_id = $1', [jobId]);
    return row ? (JSON.parse(row.status) as Json) : undefined;
  }

  sendEvent(jobId: string, name: string, payload: Json, at: number): Promise<EventDelivery> {
    return this.transaction((tx, notify) => sendEvent(tx, notify, jobId, name, payload, at));
  }

  takeEvent(waitJobId: string, at: number): Promise<JobRecord | undefined> {
    return this.transaction((tx, notify) => takeEvent(tx, notify, waitJobId, at));
  }

  events(jobId: string): Promise<EventRecord[]> {
    return listEvents(this.pool, jobId);
  }

  /** Read once per store: it never changes once made. */
  signingSecret(): Promise<string> {
    return (this.secret ??= signingSecret(this.pool));
  }

  countTokens(): Promise<number> {
    return this.tokens.countAll();
  }

  createSchedule(schedule: NewSchedule, at: number): Promise<ScheduleRecord> {
    return this.schedules.create(schedule, at);
  }

  getSchedule(workspace: string, name: string): Promise<ScheduleRecord | undefined> {
    return this.schedules.get(workspace, name);
  }

  listSchedules(workspace?: string): Promise<ScheduleRecord[]> {
    return this.schedules.list(workspace);
  }

  setSchedulePaused(workspace: string, name: string, paused: boolean, at: number): Promise<ScheduleRecord | undefined> {
    return this.schedules.setPaused(workspace, name, paused, at);
  }

  deleteSchedule(workspace: string, name: string): Promise<boolean> {
    return this.schedules.delete(workspace, name);
  }

  recordScheduleSlot(scheduleId: string, slot: number, jobId: string): Promise<void> {
    return this.schedules.recordSlot(scheduleId, slot, jobId);
  }

  scheduleRuns(schedule: ScheduleRecord, limit: number): Promise<JobRecord[]> {
    return this.schedules.lastRuns(schedule, limit);
  }

  touchWorker(worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>, now: number): Promise<void> {
    return touchWorker(this.pool, worker, now);
  }

  listWorkers(workspace: string, since: number): Promise<WorkerRecord[]> {
    return listWorkers(this.pool, workspace, since);
  }

  countLive(): Promise<LiveCount[]> {
    return ops.countLive(this.pool);
  }

  schemaState(): Promise<SchemaState> {
    return ops.schemaState(this.pool, this.schema);
  }

  setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>, at: number): Promise<boolean> {
    return ops.setProgress(this.pool, jobId, progress, at);
  }

  getProgress(jobId: string): Promise<JobProgress | undefined> {
    return ops.getProgress(this.pool, jobId);
  }

  listProgress(jobIds: readonly string[]): Promise<Map<string, JobProgress>> {
    return ops.listProgress(this.pool, jobIds);
  }

  setRunTrace(rootJob: string, trace: RunTrace): Promise<void> {
    return ops.setRunTrace(this.pool, rootJob, trace);
  }

  getRunTrace(rootJob: string): Promise<RunTrace | undefined> {
    return ops.getRunTrace(this.pool, rootJob);
  }

  pruneRuns(request: PruneRequest): Promise<PruneReport> {
    return ops.pruneRuns(this.pool, request);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // What this tick wrote is still announced.
    await this.announcer.close();
    this.closed = true;
    this.listeners.clear();
    await this.changes.close();
    await this.pool.end();
  }

  /** Runs `fn` in a transaction; the changes it reports with `notify` are announced once it has committed. */
  private transaction<T>(fn: (tx: Tx, notify: (change: Change) => void) => Promise<T>): Promise<T> {
    return transaction(this.pool, this.submit.announce, fn);
  }

  private async place(jobId: string): Promise<Place | undefined> {
    const cached = this.places.get(jobId);
    if (cached) return cached;
    const row = await one<PlaceRow>(this.pool, 'SELECT path, kind, entrypoint, script_path FROM jobs WHERE id = $1', [
      jobId,
    ]);
    return row && this.places.remember(jobId, row);
  }
}
