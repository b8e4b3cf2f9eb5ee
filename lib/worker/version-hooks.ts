/**
 * Module loader hooks of an executor thread (they run on Node's hooks thread, registered after
 * tsx's so that they see every resolution first). They give each *version* of the project a
 * module graph of its own:
 *
 * - A project file imported under `?millrace-version=<n>` passes that parameter on to every
 *   project file it imports, so `main.ts?millrace-version=3` gets `helper.ts?millrace-version=3`,
 *   not a `helper.ts` cached from an earlier version. Project files are the files under the
 *   root outside `node_modules` and outside millrace's own package.
 * - Each such file is read and hashed here, and the hashed bytes are what is compiled (ES
 *   modules; tsx reads CommonJS files itself). The version records which content of which file
 *   it loaded.
 * - The executor thread asks, before each job, whether a version can run it (`check`): yes
 *   unless a file it loaded has changed on disk since, or it holds the job's file at another
 *   hash. If yes, the job's file is expected at the job's hash: loaded at any other content,
 *   the import fails with `SCRIPT_HASH_MISMATCH` rather than run code the job was not
 *   submitted with.
 * - Every file loaded counts in `loads`, a counter shared with the executor thread. With an
 *   `ok`, the hooks send the version's files and the count: until the count moves, nothing new
 *   was loaded, so the thread checks those files' hashes itself and skips the round trip here
 *   (two thread wake-ups per job).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MessagePort } from 'node:worker_threads';
import { firstChanged } from '../loader/paths.js';
import { moduleFile } from '../task/module-identity.js';

/** The URL parameter that names a version. */
export const VERSION_PARAM = 'millrace-version';
/** Prefix of the message of an import refused because the file is not at the job's hash. */
export const MISMATCH_MARK = '[SCRIPT_HASH_MISMATCH] ';

export interface HooksData {
  root: string;
  port: MessagePort;
  /** One Int32: files loaded so far, in any version. */
  loads: SharedArrayBuffer;
}

/** Thread → hooks: may version `version` run `file` at `hash`? */
export interface CheckRequest {
  id: number;
  version: number;
  file: string;
  hash: string;
}

/**
 * Hooks → thread. `stale`: a file of the version changed, or it holds `file` at another hash (a
 * new version is needed). `commonjs`: files the version loaded as CommonJS, which the require
 * cache keeps by file name whatever the version (the thread checks them itself).
 */
export interface CheckReply {
  id: number;
  verdict: 'ok' | 'stale';
  why?: string;
  /** [file, hash loaded] */
  commonjs: [string, string][];
  /** With `ok`: every file the version loaded, [file, hash loaded], and `loads` when it was read. */
  files?: [string, string][];
  loads?: number;
}

interface Loaded {
  hash: string;
  commonjs: boolean;
}

interface Version {
  /** Files loaded, with the hash of the content compiled. */
  files: Map<string, Loaded>;
  /** The hash each job's file must have when it is loaded (set by a successful check). */
  expect: Map<string, string>;
}

let projectRoot = '';
// millrace's own modules are shared by every version: its state lives on globalThis anyway,
// and a copy of the engine per version would only cost memory.
const OWN_PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const OWN_DIRS = [`${OWN_PACKAGE}lib${sep}`, `${OWN_PACKAGE}dist${sep}`];
const versions = new Map<number, Version>();
let loads: Int32Array<ArrayBufferLike> = new Int32Array(1);

export function initialize(data: HooksData): void {
  projectRoot = data.root;
  loads = new Int32Array(data.loads);
  data.port.on('message', (req: CheckRequest) => data.port.postMessage(check(req)));
  // The thread may end at any time; this port must not keep the hooks thread alive.
  data.port.unref();
}

function versionOf(url: string | undefined): number | undefined {
  if (!url?.startsWith('file:')) return undefined;
  const q = url.indexOf('?');
  if (q < 0) return undefined;
  const value = new URLSearchParams(url.slice(q).replace(/#.*$/, '')).get(VERSION_PARAM);
  return value === null ? undefined : Number(value);
}

/**
 * Whether a file is the project's (under the root, outside `node_modules` and millrace's own
 * package): only those are loaded per version.
 */
export function isProjectFile(root: string, file: string): boolean {
  const under = root.endsWith(sep) ? root : root + sep;
  return (
    file.startsWith(under) && !file.includes(`${sep}node_modules${sep}`) && !OWN_DIRS.some((d) => file.startsWith(d))
  );
}

function record(n: number): Version {
  let v = versions.get(n);
  if (!v) versions.set(n, (v = { files: new Map(), expect: new Map() }));
  return v;
}

function check(req: CheckRequest): CheckReply {
  const v = record(req.version);
  const commonjs = [...v.files].filter(([, l]) => l.commonjs).map(([f, l]): [string, string] => [f, l.hash]);
  const held = v.files.get(req.file)?.hash ?? v.expect.get(req.file);
  if (held !== undefined && held !== req.hash) {
    return { id: req.id, verdict: 'stale', why: `it holds ${req.file} at sha256 ${held.slice(0, 12)}`, commonjs };
  }
  const files = [...v.files].map(([f, l]): [string, string] => [f, l.hash]);
  const changed = firstChanged(files);
  if (changed !== undefined)
    return { id: req.id, verdict: 'stale', why: `${changed} changed since it was loaded`, commonjs };
  v.expect.set(req.file, req.hash);
  return { id: req.id, verdict: 'ok', commonjs, files, loads: Atomics.load(loads, 0) };
}

type Resolved = {
  url: string;
  format?: string | null;
  shortCircuit?: boolean;
  importAttributes?: Record<string, string>;
};
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<Resolved>;

export async function resolve(
  specifier: string,
  context: { parentURL?: string },
  next: NextResolve,
): Promise<Resolved> {
  const resolved = await next(specifier, context);
  const version = versionOf(context.parentURL);
  if (version === undefined || !resolved.url.startsWith('file:') || versionOf(resolved.url) !== undefined)
    return resolved;
  const url = new URL(resolved.url);
  if (!isProjectFile(projectRoot, moduleFile(url.href))) return resolved;
  url.searchParams.set(VERSION_PARAM, String(version));
  return { ...resolved, url: url.href };
}

type LoadContext = { format?: string | null; source?: unknown; conditions?: string[] };
type Loaded_ = { format?: string | null; source?: unknown; shortCircuit?: boolean; responseURL?: string };
type NextLoad = (url: string, context: LoadContext) => Promise<Loaded_>;

export async function load(url: string, context: LoadContext, next: NextLoad): Promise<Loaded_> {
  const version = versionOf(url);
  if (version === undefined) return next(url, context);
  // Not fileURLToPath: tsx names a CommonJS file that an ES module imports by name with its query
  // in the path (`helper.ts%3F…?tsx-commonjs-virtual-query=1`), see task/module-identity.ts.
  const file = moduleFile(url);
  const v = record(version);
  const source = readFileSync(file);
  const hash = createHash('sha256').update(source).digest('hex');
  const expected = v.expect.get(file);
  if (expected !== undefined && expected !== hash) {
    throw new Error(
      `${MISMATCH_MARK}${file} is at sha256 ${hash.slice(0, 12)} on disk, but the job was submitted with sha256 ${expected.slice(0, 12)}; ` +
        'it changed after the job was submitted. Run it again to run the new code.',
    );
  }
  const commonjs = context.format === 'commonjs' || context.format === 'commonjs-typescript';
  v.files.set(file, { hash, commonjs });
  Atomics.add(loads, 0, 1);
  // The bytes hashed are the bytes compiled (tsx compiles the source it is handed).
  return commonjs ? next(url, context) : next(url, { ...context, source });
}
