import { EmbeddedEngine, type EmbeddedEngineOptions } from '../engine/embedded.js';
import { Scheduler } from '../engine/scheduler.js';
import { StoreSchedules, type Schedules } from '../engine/schedules.js';
import type { JobRecord } from '../types.js';
import { durationMs } from './duration.js';
import { TestClock } from './test-clock.js';

export interface TestEngineOptions extends Omit<EmbeddedEngineOptions, 'clock' | 'worker'> {
  /** Where the clock starts: a Date, ms since the epoch, or an ISO text. @default now */
  start?: Date | number | string;
}

/**
 * An embedded engine whose time moves only when the test says: `await t.advance('3d')`.
 * Sleeps, retry delays, leases and schedules follow its clock (they are due at stored times);
 * task code on executor threads sees real time. It fires schedules, as a server does.
 */
export class TestEngine {
  readonly engine: EmbeddedEngine;
  readonly clock: TestClock;
  /** The schedule verbs (create, list, pause, resume, delete) of this engine's store. */
  readonly schedules: Schedules;
  readonly scheduler: Scheduler;

  constructor(options: TestEngineOptions = {}) {
    const start = options.start === undefined ? Date.now() : new Date(options.start).getTime();
    this.clock = new TestClock(start);
    this.engine = new EmbeddedEngine({ db: ':memory:', ...options, clock: this.clock });
    this.scheduler = new Scheduler({
      store: this.engine.store,
      clock: this.clock,
      submit: (request) => this.engine.submit(request),
    });
    this.schedules = new StoreSchedules({
      store: this.engine.store,
      root: this.engine.root,
      clock: this.clock,
      changed: () => void this.scheduler.refresh(),
    });
  }

  /** The engine's time, in ms since the epoch. */
  now(): number {
    return this.clock.now();
  }

  /**
   * Moves the clock forward by `duration` ('3d', '1h30m', '90s', ms), stopping at each time
   * something falls due (a sleep's end, a retry, a schedule's slot) to fire it, and resolves
   * once the work it made due has settled (see `settled`).
   */
  async advance(duration: string | number): Promise<void> {
    const target = this.clock.now() + durationMs(duration);
    await this.settled();
    for (;;) {
      const next = this.clock.nextDue();
      const step = next !== undefined && next <= target ? Math.max(next, this.clock.now()) : target;
      this.clock.set(step);
      // The worker lives in this process and would have renewed its leases all along: it does
      // so at the new time before the lease sweep looks.
      await this.engine.worker?.renewLeases();
      this.clock.fireDue();
      await this.settled();
      const after = this.clock.nextDue();
      if (step >= target && (after === undefined || after > target)) return;
    }
  }

  /**
   * Resolves once nothing is left to do at the current time: no schedule being fired, no
   * queued job due, and every running job awaiting an unfinished child (a sleep, a wait, a
   * task not yet due). Jobs due later wait for `advance`.
   */
  async settled(): Promise<void> {
    for (;;) {
      // Let the events of what just happened reach the worker and the coordinator.
      await new Promise<void>((resolve) => setImmediate(resolve));
      const working = this.scheduler.busy ? [] : await this.working();
      if (working === undefined && !this.scheduler.busy) return;
      const changes = (working ?? []).map((id) => this.engine.coordinator.nextChange(id));
      const queued = this.engine.coordinator.hub.next(['queued']);
      // A real-time fallback, in case a change comes by a path that announces nothing.
      let fallback: NodeJS.Timeout | undefined;
      await Promise.race([
        queued.promise,
        ...changes.map((c) => c.promise),
        new Promise<void>((r) => (fallback = setTimeout(r, 20))),
      ]);
      clearTimeout(fallback);
      queued.cancel();
      for (const c of changes) c.cancel();
    }
  }

  /** Undefined when settled; else the jobs at work (running with nothing to await, or queued and due). */
  private async working(): Promise<string[] | undefined> {
    const store = this.engine.store;
    const now = this.clock.now();
    const open = await store.list({ status: ['queued', 'running'], limit: 10_000 });
    const busy: string[] = [];
    const unfinishedParents = new Set(open.map((j) => j.parentJob).filter((p): p is string => p !== null));
    for (const job of open) {
      if (job.status === 'queued' && job.scheduledFor <= now) busy.push(job.id);
      else if (job.status === 'running' && !unfinishedParents.has(job.id)) busy.push(job.id);
    }
    return busy.length === 0 ? undefined : busy;
  }

  /** Submits a run, as EmbeddedEngine.submit. */
  submit(...request: Parameters<EmbeddedEngine['submit']>): Promise<JobRecord> {
    return this.engine.submit(...request);
  }

  /** Resolves with the job once it has finished. It does not move the clock: `advance` does. */
  wait(jobId: string): Promise<JobRecord> {
    return this.engine.wait(jobId);
  }

  async close(): Promise<void> {
    await this.scheduler.close();
    await this.engine.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** An embedded engine for tests, on an in-memory database, whose clock the test moves (see TestEngine). */
export async function testEngine(options: TestEngineOptions = {}): Promise<TestEngine> {
  const t = new TestEngine(options);
  await t.scheduler.start();
  return t;
}
