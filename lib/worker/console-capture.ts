import { Console } from 'node:console';
import type { LogStream } from '../types.js';

/**
 * Captures console output (and direct writes to process.stdout/stderr) per job, inside an
 * executor thread. Each write is attributed to the job whose async context it happens in;
 * output from outside any job goes to the thread's own stdio as before.
 */
export interface CaptureSink {
  /** The id of the job the current async context belongs to, if any. */
  currentJobId(): string | undefined;
  /** One complete line of a job's output. */
  line(jobId: string, stream: LogStream, text: string, ts: number): void;
}

export interface Capture {
  /** Emits what is left of a job's partial lines (output that did not end in a newline). */
  flush(jobId: string): void;
}

export function captureConsole(sink: CaptureSink): Capture {
  const partial = new Map<string, string>();
  const original = {
    stdout: process.stdout.write.bind(process.stdout),
    stderr: process.stderr.write.bind(process.stderr),
  };

  const writer = (stream: LogStream) =>
    function write(chunk: unknown, encodingOrCb?: unknown, cb?: unknown): boolean {
      const jobId = sink.currentJobId();
      if (jobId === undefined) {
        return (original[stream] as (c: unknown, e?: unknown, cb?: unknown) => boolean)(chunk, encodingOrCb, cb);
      }
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const key = `${jobId}\0${stream}`;
      const parts = ((partial.get(key) ?? '') + text).split('\n');
      const rest = parts.pop()!;
      if (rest) partial.set(key, rest);
      else partial.delete(key);
      const ts = Date.now();
      for (const line of parts) sink.line(jobId, stream, line, ts);
      const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
      if (typeof done === 'function') queueMicrotask(() => (done as (err: null) => void)(null));
      return true;
    };

  const stdoutWrite = writer('stdout');
  const stderrWrite = writer('stderr');
  process.stdout.write = stdoutWrite as typeof process.stdout.write;
  process.stderr.write = stderrWrite as typeof process.stderr.write;
  // The global console of a worker thread does not go through process.stdout, so it is
  // replaced by one that does; every console method (log, table, group, …) keeps its format.
  globalThis.console = new Console({ stdout: lineStream(stdoutWrite), stderr: lineStream(stderrWrite) });

  return {
    flush(jobId) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const key = `${jobId}\0${stream}`;
        const rest = partial.get(key);
        if (rest !== undefined) {
          partial.delete(key);
          sink.line(jobId, stream, rest, Date.now());
        }
      }
    },
  };
}

/** The least a Console needs of a stream: a synchronous write, and listener methods it calls. */
function lineStream(write: (chunk: unknown) => boolean): NodeJS.WritableStream {
  const noop = function (this: unknown) {
    return this;
  };
  return {
    write,
    on: noop,
    once: noop,
    off: noop,
    removeListener: noop,
    emit: () => false,
    listenerCount: () => 0,
  } as unknown as NodeJS.WritableStream;
}
