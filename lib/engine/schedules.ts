import { realClock, type Clock } from '../clock.js';
import { describeValue } from '../describe.js';
import { ScheduleError, UnknownScheduleError } from '../errors-operations.js';
import { flowJobSpec, isFlowRequest } from '../flow/submission.js';
import { checkTimezone, CronSlots } from '../schedule/cron.js';
import type { Store } from '../store/store.js';
import { DEFAULT_WORKSPACE, type ScheduleRecord, type ScheduleView } from '../types.js';
import { scriptJobSpec } from '../loader/script-job.js';

/** What `millrace schedule create` and the create route take. */
export interface CreateScheduleRequest {
  /** The script or flow path each slot runs. */
  path: string;
  /** Five fields, or six with seconds first. */
  cron: string;
  /** The IANA time zone the cron reads in. @default 'UTC' */
  timezone?: string;
  /** The args of every run, by parameter name; checked against the script's main now. @default {} */
  args?: Record<string, unknown>;
  /** Unique in the workspace: letters, digits, `_`, `.`, `-` and `/` (Windmill's `f/folder/name` form). @default the path */
  name?: string;
  /** A script or a flow. Unset, as for `run`: a path ending in .flow.yaml / .flow.json, or a flow found at the path. */
  kind?: 'script' | 'flow';
}

/** The schedule verbs, embedded (StoreSchedules) or over a server's HTTP API (HttpSchedules). */
export interface Schedules {
  create(request: CreateScheduleRequest): Promise<ScheduleView>;
  list(): Promise<ScheduleView[]>;
  get(name: string): Promise<ScheduleView>;
  /** Pausing stops its slots; resuming goes on from the next slot (slots while paused never run). */
  setPaused(name: string, paused: boolean): Promise<ScheduleView>;
  delete(name: string): Promise<void>;
}

/** The runs a listing shows per schedule. */
const LAST_RUNS = 5;
/** Segments of letters, digits, `_`, `.`, `-`, joined by `/`: a name is a URL path in the routes. */
const NAME = /^(?=.{1,200}$)[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

export interface StoreSchedulesOptions {
  store: Store;
  /** Scripts are resolved under it: a schedule's path and args are checked when it is made. */
  root: string;
  workspace?: string;
  /** @default realClock */
  clock?: Clock;
  /** Told of every change, so that this process's Scheduler sees it at once. */
  changed?: () => void;
}

/** The schedule verbs over a store: what the server's routes, the embedded CLI and millrace/testing use. */
export class StoreSchedules implements Schedules {
  private readonly workspace: string;
  private readonly clock: Clock;

  constructor(private readonly options: StoreSchedulesOptions) {
    this.workspace = options.workspace ?? DEFAULT_WORKSPACE;
    this.clock = options.clock ?? realClock;
  }

  async create(request: CreateScheduleRequest): Promise<ScheduleView> {
    const { path, cron } = request;
    if (typeof path !== 'string' || path === '')
      throw new ScheduleError(
        'path',
        `path: expected a script or flow path such as examples/heavy, got ${describeValue(path)}`,
      );
    const timezone = checkTimezone(request.timezone ?? 'UTC');
    new CronSlots(cron, timezone);
    const name = request.name ?? path;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new ScheduleError(
        'name',
        `name: expected up to 200 letters, digits, "_", "." or "-", in segments joined by "/" (f/reports/nightly), got ${describeValue(name)}`,
      );
    }
    const args = request.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new ScheduleError(
        'args',
        `args: expected a JSON object of args by parameter name, such as {"n": 3}, got ${describeValue(args)}`,
      );
    }
    // The checks of `run` (the script exists, has main, the args fit it), made now rather than at the first slot.
    const submit = { path, args, workspace: this.workspace, ...(request.kind !== undefined && { kind: request.kind }) };
    const spec = isFlowRequest(submit, this.options.root)
      ? flowJobSpec(this.options.root, submit)
      : scriptJobSpec(this.options.root, submit);
    const record = await this.options.store.createSchedule(
      {
        workspace: this.workspace,
        name,
        path: spec.scriptPath,
        cron: cron.trim(),
        timezone,
        args: spec.args as ScheduleRecord['args'],
      },
      this.clock.now(),
    );
    this.options.changed?.();
    return this.view(record);
  }

  async list(): Promise<ScheduleView[]> {
    const records = await this.options.store.listSchedules(this.workspace);
    return Promise.all(records.map((r) => this.view(r)));
  }

  async get(name: string): Promise<ScheduleView> {
    const record = await this.options.store.getSchedule(this.workspace, name);
    if (!record) throw new UnknownScheduleError(name);
    return this.view(record);
  }

  async setPaused(name: string, paused: boolean): Promise<ScheduleView> {
    const record = await this.options.store.setSchedulePaused(this.workspace, name, paused, this.clock.now());
    if (!record) throw new UnknownScheduleError(name);
    this.options.changed?.();
    return this.view(record);
  }

  async delete(name: string): Promise<void> {
    if (!(await this.options.store.deleteSchedule(this.workspace, name))) throw new UnknownScheduleError(name);
    this.options.changed?.();
  }

  private async view(record: ScheduleRecord): Promise<ScheduleView> {
    const runs = await this.options.store.scheduleRuns(record, LAST_RUNS);
    return {
      ...record,
      nextSlot: record.paused ? null : (new CronSlots(record.cron, record.timezone).next(this.clock.now()) ?? null),
      lastRuns: runs.map((j) => ({ id: j.id, status: j.status, createdAt: j.createdAt })),
    };
  }
}
