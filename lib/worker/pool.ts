import { ConfigError } from '../errors.js';
import { createRequire } from 'node:module';
import { devNull } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';
import { projectTsconfig } from '../loader/tsconfig.js';
import type { HostMessage, ThreadData, ThreadMessage } from './protocol.js';

/**
 * A pool of executor threads. Each thread loads TypeScript through tsx and keeps the
 * scripts it has imported warm. The pool only owns threads; which job runs where, and how
 * many may work at once, is the worker's business.
 */
export interface ExecutorThread {
  readonly index: number;
  /** Jobs on this thread that hold a slot (are working, not awaiting children). */
  working: number;
  /** Jobs on this thread, working or awaiting. */
  jobs: number;
  /** Whether it has booted (tsx registered, entry loaded). */
  ready: boolean;
  /** Retired: it gets no new jobs and ends once its jobs have ended. */
  readonly retiring: boolean;
  send(msg: HostMessage): void;
}

export interface PoolOptions {
  size: number;
  root: string;
  /** Versions of the project's modules a thread may hold before it is retired. */
  maxVersions: number;
  onMessage(thread: ExecutorThread, msg: ThreadMessage): void;
  /** A thread died with jobs on it; the pool has already started its replacement. */
  onExit(thread: ExecutorThread, error: Error): void;
}

const require = createRequire(import.meta.url);
// The ESM entry of tsx's API; resolved here, since eval'd thread code has no module context.
const TSX_ESM_API = pathToFileURL(require.resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
const TSX_CJS_API = pathToFileURL(require.resolve('tsx/cjs/api')).href;
// Under ts-jest this module is lib/worker/pool.ts, built it is dist/worker/pool.js.
const BUILT = !import.meta.url.endsWith('.ts');
/**
 * Built, millrace's own modules load before tsx's hooks are registered, so that Node loads them
 * itself: through the hooks, each of them is a round trip to the hooks thread and a pass of tsx
 * and the version hooks (which leave them alone), most of a thread's start. The package's
 * entry (what a script imports as 'millrace') and the thread's entry's imports are most of
 * them; the same URLs later are the same instances. Under ts-jest they need tsx.
 */
const PRELOAD = !BUILT
  ? 'undefined'
  : ['../index.js', './module-versions.js', './console-capture.js', './exit-guard.js', '../tracing/thread.js']
      .map((f) => `import(${JSON.stringify(new URL(f, import.meta.url).href)})`)
      .join(', ');
// The thread entry sits beside this module either way, and tsx loads it in both cases.
const ENTRY = new URL(`./executor-thread.${BUILT ? 'js' : 'ts'}`, import.meta.url).href;
/**
 * What a thread runs first: tsx's loaders, then the entry. The tsconfig is the project's (see
 * loader/tsconfig.ts), never the one of the working directory. tsx's ESM loader takes it as
 * an option (false: none); its CommonJS loader reads only TSX_TSCONFIG_PATH, at register
 * time, so the variable is set around that call and put back (the thread's env is the jobs'
 * env too), with the null device standing for "no tsconfig" (it parses as an empty one).
 */
function bootCode(tsconfig: string | undefined): string {
  return `
  Promise.all([import(${JSON.stringify(TSX_ESM_API)}), import(${JSON.stringify(TSX_CJS_API)}), ${PRELOAD}])
    .then(([esm, cjs]) => {
      esm.register({ tsconfig: ${JSON.stringify(tsconfig ?? false)} });
      const previous = process.env.TSX_TSCONFIG_PATH;
      process.env.TSX_TSCONFIG_PATH = ${JSON.stringify(tsconfig ?? devNull)};
      try {
        cjs.register();
      } finally {
        if (previous === undefined) delete process.env.TSX_TSCONFIG_PATH;
        else process.env.TSX_TSCONFIG_PATH = previous;
      }
      return import(${JSON.stringify(ENTRY)});
    })
    .catch((err) => { process.nextTick(() => { throw err; }); });
`;
}

class PooledThread implements ExecutorThread {
  working = 0;
  jobs = 0;
  ready = false;
  retiring = false;
  readonly thread: Thread;
  exited = false;

  constructor(
    readonly index: number,
    options: PoolOptions,
    boot: string,
    onGone: (t: PooledThread, error: Error) => void,
  ) {
    this.thread = new Thread(boot, {
      eval: true,
      workerData: { root: options.root, maxVersions: options.maxVersions } satisfies ThreadData,
    });
    this.thread.on('message', (msg: ThreadMessage) => {
      if (msg.type === 'ready') this.ready = true;
      else options.onMessage(this, msg);
    });
    let lastError: Error | undefined;
    this.thread.on('error', (err) => (lastError = err));
    this.thread.on('exit', (code) => {
      this.exited = true;
      onGone(this, lastError ?? new Error(`the executor thread exited with code ${code}`));
    });
  }

  send(msg: HostMessage): void {
    this.thread.postMessage(msg);
  }
}

/**
 * The most executor threads one pool starts. Each is a V8 isolate of its own (tens of MB with
 * tsx loaded); far more than the CPUs only costs memory, and 100,000 exhausts it.
 */
export const MAX_THREADS = 256;

export class ExecutorPool {
  private readonly threads: PooledThread[] = [];
  /** Retired threads that still hold jobs. */
  private readonly draining = new Set<PooledThread>();
  private closing = false;
  /** Threads retired so far (for tests and figures). */
  retired = 0;
  private readonly boot: string;

  constructor(private readonly options: PoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1 || options.size > MAX_THREADS) {
      throw new ConfigError(`threads: expected an integer from 1 to ${MAX_THREADS}, got ${options.size}`);
    }
    // Found once, in the host: a bad TSX_TSCONFIG_PATH is refused here, not in every thread.
    this.boot = bootCode(projectTsconfig(options.root));
    for (let i = 0; i < options.size; i++) this.threads.push(this.spawn(i));
  }

  /** The thread to start a new job on: the least busy one, preferring threads that have booted. */
  pick(): ExecutorThread {
    let best = this.threads[0];
    const rank = (t: PooledThread) => [t.ready ? 0 : 1, t.working, t.jobs];
    for (const t of this.threads) {
      const [a, b] = [rank(t), rank(best)];
      if (a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])))) best = t;
    }
    return best;
  }

  /** Terminates a thread; its replacement starts, and `onExit` reports the old one's jobs. */
  replace(thread: ExecutorThread): void {
    const pooled = [...this.threads, ...this.draining].find((t) => t === thread);
    if (pooled && !pooled.exited) void pooled.thread.terminate();
  }

  /**
   * Takes a thread out of service: a fresh one takes its place now, and the old one ends once
   * the jobs it holds have ended (the worker calls `settle` as they do). It is how a thread
   * that holds too many versions of the project's modules gives back their memory.
   */
  retire(thread: ExecutorThread): void {
    const pooled = this.threads.find((t) => t === thread);
    if (!pooled || pooled.exited) return;
    pooled.retiring = true;
    this.retired++;
    this.draining.add(pooled);
    this.threads[pooled.index] = this.spawn(pooled.index);
    this.settle(pooled);
  }

  /** Ends a retired thread that holds no more jobs. */
  settle(thread: ExecutorThread): void {
    const pooled = [...this.draining].find((t) => t === thread);
    if (pooled && pooled.jobs === 0 && !pooled.exited) void pooled.thread.terminate();
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([...this.threads, ...this.draining].map((t) => t.thread.terminate()));
  }

  private spawn(index: number): PooledThread {
    return new PooledThread(index, this.options, this.boot, (gone, error) => {
      if (this.closing) return;
      // A retired thread already has its successor; its remaining jobs (if it died) are reported.
      if (gone.retiring) this.draining.delete(gone);
      else this.threads[index] = this.spawn(index);
      this.options.onExit(gone, error);
    });
  }
}
