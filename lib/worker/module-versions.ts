import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';
import { ScriptHashMismatchError } from '../errors.js';
import { firstChanged, hashFile } from '../loader/paths.js';
import {
  isProjectFile,
  MISMATCH_MARK,
  VERSION_PARAM,
  type CheckReply,
  type CheckRequest,
  type HooksData,
} from './version-hooks.js';

/** Where a job's module is imported from, or why this thread cannot run the job. */
export type Placement =
  { kind: 'run'; url: string; file: string; version: number } | { kind: 'refuse'; reason: string };

const require = createRequire(import.meta.url);

/**
 * Which version of the project an executor thread imports a job's module under (see
 * version-hooks.ts for the loader's side). A version is one module graph: every project file
 * in it is loaded once, at one content. A job runs in the current version if that version
 * holds its file at the job's hash (or not yet) and none of the version's files has changed
 * since it was loaded; otherwise a new version starts, and its modules are imported afresh.
 * The hooks answer that, unless nothing was loaded since they last listed the version's files
 * (`loads`): then this thread checks those files itself, without the round trip.
 *
 * Node cannot unload an ES module, so old versions stay in memory until the thread ends. A
 * thread that holds `maxVersions` versions refuses a job that needs one more: the host
 * retires it (no new jobs; it ends once its jobs have) and starts the job on a fresh thread.
 * CommonJS modules are cached by file name whatever the version, so a changed CommonJS file
 * cannot be loaded again on this thread either: such a job is refused in the same way.
 */
export class ModuleVersions {
  private version = 1;
  /** Versions started (the first included): what the thread holds in memory. */
  private started = 1;
  private readonly port: MessageChannel['port1'];
  private readonly replies = new Map<number, (reply: CheckReply) => void>();
  private nextId = 1;
  /** CommonJS project files, with the hash they had when first seen loaded. */
  private readonly commonjs = new Map<string, string>();
  /** The require cache's entries seen so far by `imported`. */
  private readonly inRequireCache = new Set<string>();
  /** Files loaded so far, counted by the hooks (version-hooks.ts). */
  private readonly loads = new Int32Array(new SharedArrayBuffer(4));
  /** The files of a version as the hooks last told them, with `loads` then. */
  private table: { version: number; files: Map<string, string>; loads: number } | undefined;

  constructor(
    private readonly options: {
      root: string;
      /** Versions a thread may hold before it is retired. */
      maxVersions: number;
    },
  ) {
    const { port1, port2 } = new MessageChannel();
    const hooks = new URL(`./version-hooks.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url);
    register(hooks, {
      data: { root: options.root, port: port2, loads: this.loads.buffer } satisfies HooksData,
      transferList: [port2],
    });
    port1.on('message', (reply: CheckReply) => {
      const resolve = this.replies.get(reply.id);
      this.replies.delete(reply.id);
      resolve?.(reply);
    });
    port1.unref();
    this.port = port1;
  }

  /** Where the job's module (file at hash) is to be imported from, or why not on this thread. */
  async place(file: string, hash: string): Promise<Placement> {
    // millrace's own entries (the flow runner) and packages are not the project's: one copy.
    if (!isProjectFile(this.options.root, file))
      return { kind: 'run', url: pathToFileURL(file).href, file, version: this.version };
    // Jobs placed at the same moment may find the same version stale: the first starts the next
    // version, the others use it. A job whose file that version holds at another hash (two
    // edits racing) tries once more, then goes to another thread.
    for (let tries = 0; tries < 3; tries++) {
      const version = this.version;
      const reply = this.unchanged(file, hash, version) ?? (await this.ask(file, hash, version));
      this.noteCommonJs(reply.commonjs);
      // Files a job require()d lazily, after its import settled, are first seen here.
      this.imported();
      const changed = this.changedCommonJs(file, hash);
      if (changed) return { kind: 'refuse', reason: changed };
      if (reply.verdict === 'ok') {
        const url = new URL(pathToFileURL(file).href);
        url.searchParams.set(VERSION_PARAM, String(version));
        return { kind: 'run', url: url.href, file, version };
      }
      if (this.version !== version) continue;
      if (this.started >= this.options.maxVersions) {
        return {
          kind: 'refuse',
          reason: `it holds ${this.started} versions of the project's modules, the most it may (maxVersions); this job needs another (${reply.why})`,
        };
      }
      this.next();
    }
    return {
      kind: 'refuse',
      reason: `${file} changed again while this thread was placing the job at sha256 ${hash.slice(0, 12)}`,
    };
  }

  /**
   * An import has settled: CommonJS project files it loaded through require() (which the
   * hooks thread does not see) are hashed now, as close to their loading as the thread can.
   */
  imported(): void {
    const fresh: [string, undefined][] = [];
    // Called before every job: only the entries not seen before are looked at (a thread's
    // require cache holds a few hundred files, nearly all packages).
    for (const f in require.cache) {
      if (this.inRequireCache.has(f)) continue;
      this.inRequireCache.add(f);
      if (isProjectFile(this.options.root, f)) fresh.push([f, undefined]);
    }
    this.noteCommonJs(fresh);
  }

  /** An import failed: Node keeps the failure for that URL, so the next job starts a new version. */
  failed(version: number): void {
    if (version === this.version) this.next();
  }

  /** The error to report for a failed import: a refused hash is a ScriptHashMismatchError. */
  importError(err: unknown): unknown {
    const message = err instanceof Error ? err.message : String(err);
    const at = message.indexOf(MISMATCH_MARK);
    return at < 0 ? err : new ScriptHashMismatchError(message.slice(at + MISMATCH_MARK.length));
  }

  private next(): void {
    this.version++;
    this.started++;
  }

  /**
   * The hooks' `ok`, found here without asking them: the version holds the job's file at its
   * hash, nothing was loaded since they listed the version's files, and none of those changed.
   */
  private unchanged(file: string, hash: string, version: number): CheckReply | undefined {
    const table = this.table;
    if (table?.version !== version || table.files.get(file) !== hash || Atomics.load(this.loads, 0) !== table.loads)
      return undefined;
    return firstChanged(table.files) === undefined ? { id: 0, verdict: 'ok', commonjs: [] } : undefined;
  }

  private async ask(file: string, hash: string, version: number): Promise<CheckReply> {
    const id = this.nextId++;
    const reply = new Promise<CheckReply>((resolve) => this.replies.set(id, resolve));
    this.port.postMessage({ id, version, file, hash } satisfies CheckRequest);
    this.port.ref();
    const answer = await reply.finally(() => {
      if (this.replies.size === 0) this.port.unref();
    });
    this.table =
      answer.files && answer.loads !== undefined
        ? { version, files: new Map(answer.files), loads: answer.loads }
        : undefined;
    return answer;
  }

  /**
   * CommonJS files (loaded through `import` or `require`) sit in the require cache by file
   * name. If one has changed, or the job's own file is one of them at another hash, this
   * thread cannot give the job its code.
   */
  private changedCommonJs(file: string, hash: string): string | undefined {
    const held = this.commonjs.get(file);
    if (held !== undefined && held !== hash)
      return `it holds ${file} as a CommonJS module at sha256 ${held.slice(0, 12)}`;
    const changed = firstChanged(this.commonjs);
    return changed === undefined ? undefined : `the CommonJS module ${changed} it holds changed since it was loaded`;
  }

  private noteCommonJs(files: [string, string | undefined][]): void {
    for (const [f, loadedHash] of files) {
      if (this.commonjs.has(f)) continue;
      try {
        this.commonjs.set(f, loadedHash ?? hashFile(f));
      } catch {
        // Gone already: nothing of it can be loaded again.
      }
    }
  }
}
