import { UnknownJobError } from '../errors.js';
import type { Store } from '../store/store.js';
import { FINISHED_STATUSES, type LogLine } from '../types.js';
import type { Hub } from './hub.js';

/**
 * Lines per page when a log is followed. Small, so that a page (the store read that fetches
 * it holds the event loop, with SQLite) is a few ms of work: a server with many readers of long
 * logs takes one page per reader per turn of its event loop and serves other requests between
 * turns. One query per 250 lines is still cheap next to encoding them.
 */
export const LOG_PAGE_SIZE = 250;

export interface FollowLogsOptions {
  /** Start after this cursor (a LogLine's seq). @default 0 */
  after?: number;
  /** Keep reading new lines until the job has finished. @default false */
  follow?: boolean;
  signal?: AbortSignal;
  /** Lines per page read from the store. @default LOG_PAGE_SIZE */
  pageSize?: number;
}

/** What following a log needs of the Coordinator: its store, its Hub, and how it waits for a wake. */
export interface LogSource {
  store: Store;
  hub: Hub;
  wait(wake: { promise: Promise<void>; cancel: () => void }): Promise<void>;
}

/**
 * The same log as pages of at most `pageSize` lines, read from the store by cursor one page
 * at a time: a reader that is slow to take a page holds only that page, however long the log.
 */
export async function* followLogPages(
  from: LogSource,
  jobId: string,
  options: FollowLogsOptions = {},
): AsyncGenerator<LogLine[]> {
  let cursor = options.after ?? 0;
  const limit = options.pageSize ?? LOG_PAGE_SIZE;
  for (;;) {
    const wake = from.hub.next([`logs:${jobId}`, `finished:${jobId}`], options.signal);
    const lines = await from.store.readLogs(jobId, { after: cursor, limit });
    if (lines.length > 0) {
      wake.cancel();
      cursor = lines[lines.length - 1].seq;
      yield lines;
      continue;
    }
    const job = await from.store.get(jobId);
    if (!job) {
      wake.cancel();
      throw new UnknownJobError(jobId);
    }
    if (!options.follow || FINISHED_STATUSES.includes(job.status) || options.signal?.aborted) {
      wake.cancel();
      // Lines written between the read above and the status check, page by page.
      for (;;) {
        const late = await from.store.readLogs(jobId, { after: cursor, limit });
        if (late.length === 0) return;
        cursor = late[late.length - 1].seq;
        yield late;
      }
    }
    await from.wait(wake);
  }
}
