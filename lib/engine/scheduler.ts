import type { Clock, ClockTimer } from '../clock.js';
import { CronSlots } from '../schedule/cron.js';
import { slotKey } from '../schedule/slot-key.js';
import { decode } from '../serialize.js';
import type { Store } from '../store/store.js';
import type { JobRecord, ScheduleRecord } from '../types.js';
import type { SubmitRequest } from './engine.js';

export interface SchedulerOptions {
  store: Store;
  /** The engine's clock: slots fall due by it. */
  clock: Clock;
  /** Submits one slot's run (a script or a flow by path), with the slot's idempotency key. */
  submit: (request: SubmitRequest) => Promise<JobRecord>;
  /** Only this workspace's schedules. @default every workspace */
  workspace?: string;
  /**
   * How often the schedules are read again, to learn of those made, paused or deleted by
   * another process (another server, `millrace schedule … --db`). Changes made through this
   * process are seen at once (`refresh`). @default 5000
   */
  refreshMs?: number;
  /** Where a slot that could not run is told (its script was deleted, say). @default console.error */
  warn?: (message: string) => void;
}

/** A schedule this process fires: its cron, and the slots it has handled. */
interface Armed {
  schedule: ScheduleRecord;
  slots: CronSlots;
  /** Slots up to this time have been handled by this process. */
  cursor: number;
  timer: ClockTimer | undefined;
}

/** At most this many slots are run at one wake-up: a clock that jumped far runs the latest ones. */
const MAX_SLOTS_PER_WAKE = 100;

/**
 * Fires schedules: at each slot of each active schedule it submits the run with the slot's
 * key (schedule/slot-key.ts), so that every server of a database may fire the same slot and
 * the store keeps one run. The rule for slots missed while no server ran: a schedule this
 * process has not seen before (at its start, or made elsewhere) runs its latest slot since
 * its last recorded one once, then goes on from now; slots in between are skipped. While
 * this process runs, every slot runs, even one it wakes late for.
 */
export class Scheduler {
  private readonly armed = new Map<string, Armed>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly refresher: ClockTimer;
  private refreshing: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {
    this.refresher = options.clock.interval(options.refreshMs ?? 5000, () => void this.refresh());
  }

  /** Reads the schedules and arms a timer for each active one; resolves once missed slots are submitted. */
  async start(): Promise<void> {
    await this.refresh();
  }

  /** Reads the schedules again (one was made, paused, resumed or deleted). Calls during a refresh run one more after it. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false;
        await this.track(this.readSchedules());
      } while (this.again && !this.closed);
    };
    this.refreshing = run().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Whether a refresh or a slot's submission is under way (millrace/testing waits for none). */
  get busy(): boolean {
    return this.inFlight.size > 0 || this.refreshing !== undefined;
  }

  /** When each armed schedule's next slot falls, by schedule id. */
  nextSlots(): Map<string, number | undefined> {
    return new Map([...this.armed].map(([id, a]) => [id, a.slots.next(a.cursor)]));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.refresher.clear();
    for (const a of this.armed.values()) a.timer?.clear();
    this.armed.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  private async readSchedules(): Promise<void> {
    if (this.closed) return;
    const schedules = await this.options.store.listSchedules(this.options.workspace);
    const seen = new Set<string>();
    for (const schedule of schedules) {
      if (schedule.paused) continue;
      seen.add(schedule.id);
      const known = this.armed.get(schedule.id);
      if (known && known.schedule.activeSince === schedule.activeSince) {
        known.schedule = schedule;
        continue;
      }
      known?.timer?.clear();
      await this.adopt(schedule);
    }
    for (const [id, a] of this.armed) {
      if (seen.has(id)) continue;
      a.timer?.clear();
      this.armed.delete(id);
    }
  }

  /** A schedule new to this process: the missed-slot rule, then its timer. */
  private async adopt(schedule: ScheduleRecord): Promise<void> {
    let slots: CronSlots;
    try {
      slots = new CronSlots(schedule.cron, schedule.timezone);
    } catch (err) {
      this.warn(`schedule ${schedule.name} is not fired: ${(err as Error).message}`);
      return;
    }
    const now = this.options.clock.now();
    const armed: Armed = { schedule, slots, cursor: now, timer: undefined };
    this.armed.set(schedule.id, armed);
    const missed = slots.latest(Math.max(schedule.activeSince, schedule.lastSlot ?? -Infinity), now);
    if (missed !== undefined) await this.fire(armed, missed);
    this.arm(armed);
  }

  private arm(armed: Armed): void {
    if (this.closed) return;
    const next = armed.slots.next(armed.cursor);
    if (next === undefined) return;
    armed.timer = this.options.clock.timeout(next - this.options.clock.now(), () => void this.track(this.due(armed)));
  }

  /** A timer went off: every slot since the cursor runs, unless the schedule was paused or deleted meanwhile. */
  private async due(armed: Armed): Promise<void> {
    armed.timer = undefined;
    if (this.armed.get(armed.schedule.id) !== armed) return;
    const fresh = await this.options.store.getSchedule(armed.schedule.workspace, armed.schedule.name);
    if (!fresh || fresh.id !== armed.schedule.id || fresh.paused) {
      this.armed.delete(armed.schedule.id);
      return;
    }
    armed.schedule = fresh;
    const now = this.options.clock.now();
    const slots: number[] = [];
    for (let s = armed.slots.next(armed.cursor); s !== undefined && s <= now; s = armed.slots.next(s)) slots.push(s);
    armed.cursor = now;
    for (const slot of slots.slice(-MAX_SLOTS_PER_WAKE)) await this.fire(armed, slot);
    this.arm(armed);
  }

  private async fire(armed: Armed, slot: number): Promise<void> {
    const { schedule } = armed;
    try {
      const args = decode(schedule.args, 'args') as Record<string, unknown>;
      const job = await this.options.submit({
        path: schedule.path,
        args,
        workspace: schedule.workspace,
        idempotencyKey: slotKey(schedule.id, slot),
      });
      await this.options.store.recordScheduleSlot(schedule.id, slot, job.id);
    } catch (err) {
      this.warn(
        `schedule ${schedule.name}: the run of ${new Date(slot).toISOString()} could not be submitted: ${(err as Error).message}`,
      );
    }
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work
      .catch((err: unknown) => this.warn(`schedules: ${(err as Error).message}`))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  private warn(message: string): void {
    (this.options.warn ?? ((m: string) => console.error(`millrace: ${m}`)))(message);
  }
}
