import type { NewLogLine } from '../types.js';

/**
 * How a worker's reports are cut to fit the server's body limit. Each event is encoded once;
 * its encoded size decides which request it goes in. Pure functions, so that the packing is
 * tested without a server.
 */

/** One event, encoded, with the caller waiting on its fate. */
export interface EncodedReport {
  /** The job the event is about. */
  jobId: string;
  text: string;
  /** Its UTF-8 size. */
  bytes: number;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * What `{"events":[` … `]}` costs around the events, and a comma between two. (The worker id
 * the body also holds is a few dozen bytes: REPORT_BUDGET keeps a margin below the body limit.)
 */
const ENVELOPE = 16;

/** The request body holding these events, from worker `workerId`. */
export function reportBody(workerId: string, items: readonly EncodedReport[]): string {
  return `{"worker_id":${JSON.stringify(workerId)},"events":[${items.map((i) => i.text).join(',')}]}`;
}

/**
 * Consecutive runs of events, in order, each of whose bodies is at most `budget` bytes. An
 * event larger than the budget on its own goes alone (the server may still take it; if not,
 * only it is refused).
 */
export function packReports(items: readonly EncodedReport[], budget: number): EncodedReport[][] {
  const packs: EncodedReport[][] = [];
  let pack: EncodedReport[] = [];
  let size = ENVELOPE;
  for (const item of items) {
    if (pack.length > 0 && size + item.bytes + 1 > budget) {
      packs.push(pack);
      pack = [];
      size = ENVELOPE;
    }
    pack.push(item);
    size += item.bytes + 1;
  }
  if (pack.length > 0) packs.push(pack);
  return packs;
}

/**
 * A job's log lines cut into runs whose encoding is at most `budget` bytes, in order, so that
 * a job that printed more than one request holds goes in several. A line's size is bounded
 * without encoding it when it is short (JSON escapes a UTF-16 unit into at most 6 bytes).
 */
export function splitLines(lines: readonly NewLogLine[], budget: number): NewLogLine[][] {
  const runs: NewLogLine[][] = [];
  let run: NewLogLine[] = [];
  let size = 0;
  for (const line of lines) {
    const bytes = line.line.length <= 1024 ? 6 * line.line.length + 64 : Buffer.byteLength(JSON.stringify(line));
    if (run.length > 0 && size + bytes > budget) {
      runs.push(run);
      run = [];
      size = 0;
    }
    run.push(line);
    size += bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/** Calls cut into runs whose bodies fit `budget` bytes, in order (a fan-out's calls, each with its args). */
export function callRuns<T extends { body: { args: unknown } }>(calls: T[], budget: number): T[][] {
  const runs: T[][] = [];
  let run: T[] = [];
  let size = 1024;
  for (const call of calls) {
    const args = JSON.stringify(call.body.args) ?? '';
    // Short args are bounded by their length (3 bytes per UTF-16 unit at most) without encoding.
    const bytes = (args.length * 3 <= 65_536 ? args.length * 3 : Buffer.byteLength(args)) + 512;
    if (run.length > 0 && size + bytes > budget) {
      runs.push(run);
      run = [];
      size = 1024;
    }
    run.push(call);
    size += bytes;
  }
  if (run.length > 0) runs.push(run);
  return runs;
}
