import type { Hub } from './hub.js';

/** The jobs remembered at most; past it the oldest is forgotten (a wait for it reads the store). */
const MAX_JOBS = 100_000;

/**
 * The jobs this process created and has not yet heard end: a wait for one of them need not read
 * the store first (a statement per awaited task), since the end it waits for is still to come,
 * and comes as an event. Every end is an event: `finished:<id>` for this process's own changes,
 * `ended` for another server's (with their ids, or with none after a resync: any job may have
 * ended, and all are forgotten).
 *
 * A job is remembered only when no job ended while it was being created: an end heard before
 * `add` would otherwise leave a finished job remembered as unfinished, and its waiter waiting.
 */
export class UnfinishedJobs {
  /** Each job's workspace, by id. */
  private readonly ids = new Map<string, string>();
  /** Ends heard so far: `add` is given the count from before the job's creation. */
  private ends = 0;

  /** `hub` is the Coordinator's own: the listeners live as long as both. */
  constructor(hub: Hub) {
    hub.tapFinished((jobId) => {
      this.ends++;
      this.ids.delete(jobId);
    });
    hub.on<readonly string[] | undefined>('ended', (jobIds) => {
      this.ends++;
      if (jobIds) for (const id of jobIds) this.ids.delete(id);
      else this.ids.clear();
    });
  }

  /** The count of ends heard, to hand `add` for a job about to be created. */
  get mark(): number {
    return this.ends;
  }

  /** A job created, unfinished; remembered if no end was heard since `mark` was read. */
  add(job: { id: string; workspace: string }, mark: number): void {
    if (mark !== this.ends) return;
    if (this.ids.size >= MAX_JOBS) this.ids.delete(this.ids.keys().next().value!);
    this.ids.set(job.id, job.workspace);
  }

  /** Whether the job is remembered unfinished (and, given a workspace, is of it). */
  has(jobId: string, workspace?: string): boolean {
    const of = this.ids.get(jobId);
    return of !== undefined && (workspace === undefined || of === workspace);
  }
}
