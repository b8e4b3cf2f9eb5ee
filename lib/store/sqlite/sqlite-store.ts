import Database from 'better-sqlite3';
import { realClock, type Clock } from '../../clock.js';
import { ConfigError } from '../../errors.js';
import {
  type AttemptRecord,
  type ErrorRecord,
  type EventRecord,
  type JobFilter,
  type JobRecord,
  type JobSpec,
  type Json,
  type LogLine,
  type NewLogLine,
  type Outcome,
  type QueueSummary,
  type TokenRecord,
  type WorkerRecord,
  type NewSchedule,
  type ScheduleRecord,
  type JobProgress,
  type RunTrace,
} from '../../types.js';
import { PlaceCache, type Place, type PlaceRow } from '../policy.js';
import { outcomeColumns, toJobRecord, type JobRow } from '../rows.js';
import type {
  CancelRequest,
  ClaimAtOnce,
  ClaimRequest,
  EnqueueResult,
  EventDelivery,
  ExpiredLeases,
  HeldLease,
  MigrationReport,
  Store,
} from '../store.js';
import { cancelTree } from './cancel.js';
import { SqliteEvents } from './events.js';
import { claimJobs, queueSummary } from './claim.js';
import { expireLeases, holds, releaseJob } from './leases.js';
import { insertLogLines, readLogLines } from './logs.js';
import { schemaVersion } from './migrate.js';
import { explainDamageIn, openSqliteFile, type OpenSqliteOptions } from './open-file.js';
import { prepareStatements, type Statements } from './statements.js';
import { SqliteReads } from './reads.js';
import { enqueueJob, recordCall, takenBeforeCommit, type SubmitContext } from './submit.js';
import { TickCommit } from './tick-commit.js';
import { SqliteOperations } from './operations.js';
import { pruneSqlite } from './prune.js';
import type { LiveCount, PruneReport, PruneRequest, SchemaState } from '../operations.js';
import { SqliteTokens } from './tokens.js';
import { SqliteSchedules } from './schedules.js';
import { listWorkers, touchWorker } from './workers.js';

export interface SqliteStoreOptions extends OpenSqliteOptions {
  /** A file path, or ':memory:'. The file's directory is created when missing. */
  file: string;
  /** The time of created, due, claimed and leased-until stamps. @default realClock */
  clock?: Clock;
}

/** The embedded store: one SQLite file in WAL mode, written by this process. */
export class SqliteStore implements Store {
  readonly file: string;
  /** Opened read-only (the file is not writable and only reads were asked for): writes are refused. */
  readonly readOnly: boolean;
  private readonly db: Database.Database;
  private readonly stmt: Statements;
  private readonly tokens: SqliteTokens;
  private readonly eventStatements: SqliteEvents;
  private readonly schedules: SqliteSchedules;
  /** The job-tree reads (reads.ts). */
  private readonly reads: SqliteReads;
  /** What enqueue and record use (submit.ts). */
  private readonly submit: SubmitContext;
  private readonly commits: TickCommit;
  private readonly places = new PlaceCache();
  private readonly clock: Clock;
  private readonly ops: SqliteOperations;

  constructor(options: SqliteStoreOptions) {
    this.file = options.file;
    this.clock = options.clock ?? realClock;
    ({ db: this.db, readOnly: this.readOnly } = openSqliteFile(options.file, options));
    this.stmt = prepareStatements(this.db);
    this.tokens = new SqliteTokens(this.db);
    this.eventStatements = new SqliteEvents(this.db);
    this.schedules = new SqliteSchedules(this.db);
    this.commits = new TickCommit(this.db);
    this.ops = new SqliteOperations(this.db);
    this.reads = new SqliteReads(this.db, this.stmt);
    this.submit = { stmt: this.stmt, clock: this.clock };
  }

  /** Applies pending migrations to the file and closes it: `millrace migrate`. */
  static async migrate(options: Pick<SqliteStoreOptions, 'file'>): Promise<MigrationReport> {
    const { db, applied } = openSqliteFile(options.file);
    try {
      return { applied, version: schemaVersion(db) ?? 0 };
    } finally {
      db.close();
    }
  }

  async enqueue(spec: JobSpec, claim?: ClaimAtOnce, parentHeld?: HeldLease): Promise<EnqueueResult> {
    if (!claim) return this.write(() => enqueueJob(this.submit, spec, claim, parentHeld));
    const written = this.write(() => enqueueJob(this.submit, spec, claim, parentHeld), { awaitCommit: false });
    return takenBeforeCommit(this.commits, written);
  }

  async findChild(parentJob: string, callKey: string): Promise<JobRecord | undefined> {
    return this.reads.findChild(parentJob, callKey);
  }

  async record(
    spec: JobSpec & { parentJob: string; callKey: string },
    outcome: Outcome,
    startedAt: number,
    at: number,
  ): Promise<EnqueueResult> {
    return this.write(() => recordCall(this.submit, spec, outcome, startedAt, at));
  }

  async claim(request: ClaimRequest): Promise<JobRecord[]> {
    if (request.limit <= 0) return [];
    const now = this.clock.now();
    return this.write(
      () => claimJobs(this.stmt, request, now),
      // A claim lost in a crash before its commit leaves the job queued, as if never claimed:
      // a claimer in this process, lost with it, need not wait for the commit.
      { awaitCommit: request.durable === true },
    );
  }

  async markStarted(jobId: string, at: number, held?: HeldLease): Promise<boolean> {
    // Only a timestamp: nothing depends on it being on disk before the job goes on.
    return this.write(
      () => {
        if (!holds(this.stmt, jobId, held)) return false;
        if (this.stmt.markStarted.run({ id: jobId, at }).changes === 0) return false;
        this.stmt.attemptStarted.run({ id: jobId, at });
        return true;
      },
      { awaitCommit: false },
    );
  }

  async renewLeases(workerId: string, jobIds: readonly string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    const ids = JSON.stringify(jobIds);
    return this.write(() => {
      this.stmt.renew.run({ worker: workerId, ids, lease_until: this.clock.now() + leaseMs });
      const mine = new Set((this.stmt.stillMine.all({ worker: workerId, ids }) as { id: string }[]).map((r) => r.id));
      return jobIds.filter((id) => !mine.has(id));
    });
  }

  async finish(
    jobId: string,
    outcome: Outcome,
    at: number,
    startedAt?: number,
    held?: HeldLease,
  ): Promise<JobRecord | undefined> {
    const { result, error } = outcomeColumns(outcome);
    // A start held back by its worker (worker/held-starts.ts) goes in the end's own updates.
    const [finish, attemptDone] =
      startedAt === undefined
        ? [this.stmt.finish, this.stmt.attemptDone]
        : [this.stmt.finishStarted, this.stmt.attemptDoneStarted];
    const started = startedAt === undefined ? {} : { started: startedAt };
    return this.write(() => {
      if (!holds(this.stmt, jobId, held)) return undefined;
      const row = finish.get({ id: jobId, status: outcome.status, result, error, at, ...started }) as
        JobRow | undefined;
      if (!row) return undefined;
      attemptDone.run({ id: jobId, attempt: row.attempt, status: outcome.status, error, at, ...started });
      this.places.forget(jobId);
      return toJobRecord(row);
    });
  }

  async retry(jobId: string, error: ErrorRecord, at: number, scheduledFor: number): Promise<JobRecord | undefined> {
    return this.write(() => {
      const row = this.stmt.requeue.get({ id: jobId, scheduled_for: scheduledFor }) as JobRow | undefined;
      if (!row) return undefined;
      this.stmt.attemptDone.run({
        id: jobId,
        attempt: row.attempt,
        status: 'failure',
        error: JSON.stringify(error),
        at,
      });
      return toJobRecord(row);
    });
  }

  async release(jobId: string, error: ErrorRecord, at: number): Promise<JobRecord | undefined> {
    return this.write(() => releaseJob(this.stmt, jobId, error, at));
  }

  async cancel(jobId: string, request: CancelRequest): Promise<JobRecord[]> {
    const at = this.clock.now();
    return this.write(() => cancelTree(this.stmt, jobId, request, at));
  }

  async expireLeases(now: number, maxLostLeases: number): Promise<ExpiredLeases> {
    // A reader's Coordinator sweeps too; on a file it may not write, that is the writer's job.
    if (this.readOnly) return { requeued: [], failed: [] };
    return this.write((): ExpiredLeases => expireLeases(this.stmt, now, maxLostLeases));
  }

  async get(jobId: string): Promise<JobRecord | undefined> {
    return this.reads.get(jobId);
  }

  async matchIds(prefix: string, limit: number): Promise<string[]> {
    return this.reads.matchIds(prefix, limit);
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    return this.reads.list(filter);
  }

  async attempts(jobId: string): Promise<AttemptRecord[]> {
    return this.reads.attempts(jobId);
  }

  async descendants(jobId: string): Promise<JobRecord[]> {
    return this.reads.descendants(jobId);
  }

  async appendLogs(jobId: string, lines: readonly NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const place = this.place(jobId);
    if (!place) return [];
    return this.write(() => insertLogLines(this.stmt, jobId, place, lines));
  }

  async readLogs(
    jobId: string,
    options: { after?: number; limit?: number; ownOnly?: boolean } = {},
  ): Promise<LogLine[]> {
    return readLogLines(this.stmt, jobId, options);
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
    await this.write(() =>
      this.stmt.setFlowStatus.run({ job_id: jobId, status: JSON.stringify(status), now: this.clock.now() }),
    );
  }

  async queue(workspace: string): Promise<QueueSummary> {
    return queueSummary(this.stmt, workspace);
  }

  async getFlowStatus(jobId: string): Promise<Json | undefined> {
    return this.reads.flowStatus(jobId);
  }

  async sendEvent(jobId: string, name: string, payload: Json, at: number): Promise<EventDelivery> {
    return this.write(() => this.eventStatements.send(jobId, name, payload, at));
  }

  async takeEvent(waitJobId: string, at: number): Promise<JobRecord | undefined> {
    return this.write(() => this.eventStatements.take(waitJobId, at));
  }

  async events(jobId: string): Promise<EventRecord[]> {
    return this.eventStatements.list(jobId);
  }

  async signingSecret(): Promise<string> {
    return this.eventStatements.secret() ?? (await this.write(() => this.eventStatements.makeSecret(Date.now())));
  }

  async countTokens(): Promise<number> {
    return this.tokens.countAll();
  }

  async touchWorker(worker: Omit<WorkerRecord, 'jobs' | 'lastSeen' | 'startedAt'>, now: number): Promise<void> {
    await this.write(() => touchWorker(this.stmt, worker, now));
  }

  async listWorkers(workspace: string, since: number): Promise<WorkerRecord[]> {
    return listWorkers(this.stmt, workspace, since);
  }

  async createSchedule(schedule: NewSchedule, at: number): Promise<ScheduleRecord> {
    return this.write(() => this.schedules.create(schedule, at));
  }

  async getSchedule(workspace: string, name: string): Promise<ScheduleRecord | undefined> {
    return this.schedules.get(workspace, name);
  }

  async listSchedules(workspace?: string): Promise<ScheduleRecord[]> {
    return this.schedules.list(workspace);
  }

  async setSchedulePaused(
    workspace: string,
    name: string,
    paused: boolean,
    at: number,
  ): Promise<ScheduleRecord | undefined> {
    return this.write(() => this.schedules.setPaused(workspace, name, paused, at));
  }

  async deleteSchedule(workspace: string, name: string): Promise<boolean> {
    return this.write(() => this.schedules.delete(workspace, name));
  }

  async recordScheduleSlot(scheduleId: string, slot: number, jobId: string): Promise<void> {
    await this.write(() => this.schedules.recordSlot(scheduleId, slot, jobId));
  }

  async scheduleRuns(schedule: ScheduleRecord, limit: number): Promise<JobRecord[]> {
    return this.schedules.lastRuns(schedule, limit);
  }

  async countLive(): Promise<LiveCount[]> {
    return this.ops.countLive();
  }

  async schemaState(): Promise<SchemaState> {
    return this.ops.schemaState();
  }

  async setProgress(jobId: string, progress: Omit<JobProgress, 'updatedAt'>, at: number): Promise<boolean> {
    return this.write(() => this.ops.setProgress(jobId, progress, at));
  }

  async getProgress(jobId: string): Promise<JobProgress | undefined> {
    return this.ops.getProgress(jobId);
  }

  async listProgress(jobIds: readonly string[]): Promise<Map<string, JobProgress>> {
    return this.ops.listProgress(jobIds);
  }

  async setRunTrace(rootJob: string, trace: RunTrace): Promise<void> {
    await this.write(() => this.ops.setRunTrace(rootJob, trace));
  }

  async getRunTrace(rootJob: string): Promise<RunTrace | undefined> {
    return this.ops.getRunTrace(rootJob);
  }

  async pruneRuns(request: PruneRequest): Promise<PruneReport> {
    return pruneSqlite({ db: this.db, write: (fn) => this.write(fn) }, request);
  }

  async close(): Promise<void> {
    this.commits.commit();
    if (this.db.open) this.db.close();
  }

  /** Runs a write in this tick's transaction (tick-commit.ts); a read-only store refuses it. */
  private write<T>(fn: () => T, options: { awaitCommit: boolean } = { awaitCommit: true }): Promise<T> {
    if (this.readOnly) {
      return Promise.reject(
        new ConfigError(
          `The SQLite store at ${this.file} is open read-only (this user may not write the file): this command cannot change it`,
        ),
      );
    }
    return this.commits.run(fn, options);
  }

  private place(jobId: string): Place | undefined {
    const cached = this.places.get(jobId);
    if (cached) return cached;
    const row = this.stmt.placeAndName.get(jobId) as PlaceRow | undefined;
    return row && this.places.remember(jobId, row);
  }
}

explainDamageIn(SqliteStore.prototype, (store) => (store as SqliteStore).file);
