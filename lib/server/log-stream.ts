import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Coordinator } from '../engine/coordinator.js';
import type { LogEvent } from '../http/wire.js';

export interface LogStreamOptions {
  jobId: string;
  /** Start after this cursor. */
  after: number;
  /** Keep streaming new lines until the job has finished. */
  follow: boolean;
  /** Server-sent events (the web UI) rather than NDJSON. */
  sse: boolean;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

/**
 * Writes a job's log to the response page by page, as NDJSON or as server-sent events, then
 * an `{end: true}` event. Memory per reader stays at about one page: the next page is read
 * from the store only once the socket has taken the last one ('drain'), and between pages the
 * event loop serves other requests. (Writing every line at once, as before, buffered a whole
 * 500,000-line log in the response: 700 MB per reader.)
 */
export async function streamLog(
  res: ServerResponse,
  coordinator: Coordinator,
  options: LogStreamOptions,
): Promise<void> {
  const { sse, signal } = options;
  const format = (e: LogEvent) => (sse ? `data: ${JSON.stringify(e)}\n\n` : `${JSON.stringify(e)}\n`);
  res.writeHead(200, {
    'Content-Type': sse ? 'text/event-stream' : 'application/x-ndjson',
    'Cache-Control': 'no-cache',
  });
  for await (const page of coordinator.followLogPages(options.jobId, {
    after: options.after,
    follow: options.follow,
    signal,
  })) {
    let text = '';
    for (const line of page) text += format({ line });
    if (!res.write(text)) await drained(res);
    if (signal.aborted || res.destroyed) break;
    await nextTurn();
  }
  if (!signal.aborted && !res.destroyed) res.write(format({ end: true }));
  res.end();
}

/** Resolves when the response has flushed what it buffered, or when its socket has closed. */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
