import pg from 'pg';
import { realClock, type Clock } from '../../clock.js';
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
import type * as S from '../store.js';
import { cancelTree } from './cancel.js';
import { listEvents, sendEvent, signingSecret, takeEvent } from './events.js';
import { JobInserts } from './inserts.js';
import { expireLeases, release } from './leases.js';
import { logAppends, readLogs, type LogAppend } from './logs.js';
import { checkPoolSize, migrateSchema, openError, prepareSchema } from './connect.js';
import { Announcer, ChangeListener, type Change } from './notifications.js';
import { transaction, type Tx } from './query.js';
import { claimJobs, queueSummary, type ClaimMemo } from './claim.js';
import { getFlowStatus, setFlowStatus } from './flow-status.js';
import * as lifecycle from './lifecycle.js';
import type { TickStatement } from './tick-statement.js';
import * as reads from './reads.js';
import { enqueue, record, type SubmitContext } from './submit.js';
import { PgTokens } from './tokens.js';
import { PgSchedules } from './schedules.js';
import { checkPostgresUrl, checkSchemaName, connectionConfig } from './url.js';
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
export class PgStore implements S.Store {
  readonly url: string;
  readonly schema: string;
  readonly poolSize: number;
  private readonly pool: pg.Pool;
  private readonly tokens: PgTokens;
  private readonly schedules: PgSchedules;
  private readonly announcer: Announcer;
  /** Starts and ends of claimed jobs (lifecycle.ts). */
  private readonly lifecycle: lifecycle.JobLifecycle;
  /** Jobs by id, a statement per tick (the parent's looks at its fan-out's children). */
  private readonly jobs: TickStatement<string, JobRecord | undefined>;
  private readonly logAppends: TickStatement<LogAppend, LogLine[]>;
  private readonly placeRows: TickStatement<string, PlaceRow | undefined>;
  /** What enqueue and record use (submit.ts). */
  private readonly submit: SubmitContext;
  private readonly changes: ChangeListener;
  private readonly listeners = new Set<(change: S.StoreChange) => void>();
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
    this.announcer = new Announcer(this.pool, channel, origin, options.listen ?? true);
    this.submit = {
      pool: this.pool,
      inserts: new JobInserts(this.pool),
      announce: (change) => this.announcer.announce(change),
      clock: this.clock,
    };
    this.lifecycle = new lifecycle.JobLifecycle(this.pool, this.submit.announce);
    this.jobs = reads.jobReads(this.pool);
    this.logAppends = logAppends(this.pool);
    this.placeRows = reads.placeReads(this.pool);
    this.changes = new ChangeListener(
      { url: options.url, schema, channel, origin },
      (change) => {
        for (const listener of [...this.listeners]) listener(change);
      },
      this.announcer,
    );
    // An idle connection that breaks (the database restarted) is dropped from the pool; the
    // next query opens a fresh one. Without a handler, the error would end the process.
    this.pool.on('error', (err) =>
      console.error(`millrace: PostgreSQL connection lost (${err.message}); reconnecting on next use`),
    );
  }

  /** Connects, applies pending migrations (unless `migrate: false`) and starts listening. */
  static async open(options: PgStoreOptions): Promise<PgStore> {
    const schema = checkSchemaName(options.schema ?? 'public');
    const poolSize = checkPoolSize(options.poolSize);
    checkPostgresUrl(options.url);
    const store = new PgStore(options, schema, poolSize);
    try {
      await prepareSchema(store.pool, schema, options.migrate ?? true);
      if (options.listen ?? true) await store.changes.listen();
    } catch (err) {
      await store.close();
      throw openError(options.url, err);
    }
    return store;
  }

  /** Applies pending migrations to the schema and closes: `millrace migrate`. */
  static migrate(options: Pick<PgStoreOptions, 'url' | 'schema'>): Promise<S.MigrationReport> {
    return migrateSchema(options);
  }

  subscribe(listener: (change: S.StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueue(spec: JobSpec, claim?: S.ClaimAtOnce, parentHeld?: S.HeldLease): Promise<S.EnqueueResult> {
    return enqueue(this.submit, spec, claim, parentHeld);
  }

  findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    return reads.findChild(this.pool, parentJob, callKey);
  }

  record(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<S.EnqueueResult> {
    return record(this.submit, spec, outcome, startedAt, at);
  }

  release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined> {
    return this.transaction((tx, notify) => release(tx, notify, jobId, error, at));
  }

  async claim(request: S.ClaimRequest): Promise<JobRecord[]> {
    if (request.limit <= 0) return [];
    return claimJobs(this.pool, this.submit.announce, request, this.clock.now(), this.claimMemo);
  }

  queue(workspace: string): Promise<QueueSummary> {
    return queueSummary(this.pool, workspace);
  }

  markStarted(jobId: string, at: number, held?: S.HeldLease): Promise<boolean> {
    return this.lifecycle.markStarted(jobId, at, held);
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    return lifecycle.renewLeases(this.pool, workerId, jobIds, this.clock.now() + leaseMs);
  }

  async finish(...end: Parameters<S.Store['finish']>): Promise<JobRecord | undefined> {
    const job = await this.lifecycle.finish(...end);
    if (job) this.places.forget(job.id);
    return job;
  }

  retry(jobId: string, error: ErrorRecord, at: number, scheduledFor: number): Promise<JobRecord | undefined> {
    return lifecycle.retry(this.pool, this.submit.announce, jobId, error, scheduledFor, at);
  }

  async cancel(jobId: string, request: S.CancelRequest): Promise<JobRecord[]> {
    const at = this.clock.now();
    const canceled = await this.transaction((tx, notify) => cancelTree(tx, notify, jobId, request, at));
    if (canceled.some((c) => c.flowControl?.concurrency)) this.announcer.announce({ k: 'q', due: at });
    return canceled;
  }

  expireLeases(now: number, maxLostLeases: number): Promise<S.ExpiredLeases> {
    return this.transaction((tx, notify) => expireLeases(tx, notify, now, maxLostLeases));
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    const job = await this.jobs.run(jobId);
    // A running job read (a report's lease check) is about to log, most likely: its place
    // comes with the row, and its lines need no read of their own.
    if (job?.status === 'running' && !this.places.get(jobId)) {
      this.places.remember(jobId, {
        path: job.path,
        kind: job.kind,
        entrypoint: job.entrypoint,
        script_path: job.scriptPath,
      });
    }
    return job;
  }

  matchIds(prefix: string, limit: number): Promise<string[]> {
    return reads.matchIds(this.pool, prefix, limit);
  }

  list(filter: JobFilter): Promise<JobRecord[]> {
    return reads.listJobs(this.pool, filter);
  }

  attempts(jobId: string): Promise<AttemptRecord[]> {
    return reads.listAttempts(this.pool, jobId);
  }

  descendants(jobId: string): Promise<JobRecord[]> {
    return reads.descendants(this.pool, jobId);
  }

  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const place = await this.place(jobId);
    if (!place) return [];
    const written = await this.logAppends.run({ jobId, place, lines });
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

  setFlowStatus(jobId: string, status: Json): Promise<void> {
    return setFlowStatus(this.pool, jobId, status, this.clock.now());
  }

  getFlowStatus(jobId: string): Promise<Json | undefined> {
    return getFlowStatus(this.pool, jobId);
  }

  sendEvent(jobId: string, name: string, payload: Json, at: number): Promise<S.EventDelivery> {
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
    const row = await this.placeRows.run(jobId);
    return row && this.places.remember(jobId, row);
  }
}
