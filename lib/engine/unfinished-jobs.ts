import type { Hub } from './hub.js';

/** The jobs remembered at most; past it the oldest is forgotten (a wait for it reads the store). */
const MAX_JOBS = 100_000;

/** The ends remembered by id at most; a job created across more ends than this is not remembered. */
const MAX_ENDS = 20_000;

/**
 * The jobs this process created and has not yet heard end: a wait for one of them need not read
 * the store first (a statement per awaited task), since the end it waits for is still to come,
 * and comes as an event. Every end is an event: `finished:<id>` for this process's own changes,
 * `ended` for another server's (with their ids, or with none after a resync: any job may have
 * ended, and all are forgotten).
 *
 * A job whose end was heard while it was being created is not remembered: that would leave a
 * finished job remembered as unfinished, and its waiter waiting. The ends heard lately are kept
 * by id for that, so that other jobs' ends (a fan-out's children end while the next of them are
 * recorded) do not stop a job from being remembered: each of them would be a read of the store
 * by every wait that names it.
 */
export class UnfinishedJobs {
  /** Each job's workspace, by id. */
  private readonly ids = new Map<string, string>();
  /** Ends heard so far: `add` is given the count from before the job's creation. */
  private ends = 0;
  /** The latest ends heard, by job id: the count when each was heard. */
  private readonly ended = new Map<string, number>();
  /** The count up to which ends may be unknown by id: an end without ids, or one forgotten from `ended`. */
  private unknownUpTo = 0;

  /** `hub` is the Coordinator's own: the listeners live as long as both. */
  constructor(hub: Hub) {
    hub.tapFinished((jobId) => this.heard([jobId]));
    hub.on<readonly string[] | undefined>('ended', (jobIds) => this.heard(jobIds));
  }

  /** The count of ends heard, to hand `add` for a job about to be created. */
  get mark(): number {
    return this.ends;
  }

  /** A job created, unfinished; remembered unless it may have ended since `mark` was read. */
  add(job: { id: string; workspace: string }, mark: number): void {
    if (mark < this.unknownUpTo || (this.ended.get(job.id) ?? -1) > mark) return;
    if (this.ids.size >= MAX_JOBS) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(job.id, job.workspace);
  }

  /** Whether the job is remembered unfinished (and, given a workspace, is of it). */
  has(jobId: string, workspace?: string): boolean {
    const of = this.ids.get(jobId);
    return of !== undefined && (workspace === undefined || of === workspace);
  }

  /** Ends heard: of these jobs, or (none named) of any. */
  private heard(jobIds: readonly string[] | undefined): void {
    this.ends++;
    if (!jobIds) {
      this.ids.clear();
      this.ended.clear();
      this.unknownUpTo = this.ends;
      return;
    }
    for (const id of jobIds) {
      this.ids.delete(id);
      this.ended.delete(id);
      this.ended.set(id, this.ends);
    }
    while (this.ended.size > MAX_ENDS) {
      const [oldest, at] = this.ended.entries().next().value!;
      this.ended.delete(oldest);
      this.unknownUpTo = Math.max(this.unknownUpTo, at);
    }
  }
}
