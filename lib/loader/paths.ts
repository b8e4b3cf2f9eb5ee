import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, statSync, type Stats } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, UnknownScriptError } from '../errors.js';

/** The file extensions a script path may stand for, in the order they are tried. */
/** `.cts` and `.cjs` come last: in a CommonJS project `.ts` and `.js` already load as CommonJS. */
export const SCRIPT_EXTENSIONS = ['.ts', '.mts', '.tsx', '.js', '.mjs', '.cts', '.cjs'] as const;

/** A script found on disk: its path (relative to the project root, no extension), file and content hash. */
export interface ScriptFile {
  path: string;
  file: string;
  hash: string;
}

/**
 * Finds the script that `input` names. `input` is a script path (`examples/heavy`), a file
 * path relative to the root (`examples/heavy.ts`), or an absolute file path under the root.
 */
export function resolveScript(root: string, input: string): ScriptFile {
  // Every task call resolves its script twice (submit, run): remember which file a path
  // names, and only check its content (hashFile stats it) after the first time.
  const key = `${root}\0${input}`;
  const known = resolved.get(key);
  if (known) {
    try {
      return { ...known, hash: hashFile(known.file) };
    } catch {
      resolved.delete(key);
    }
  }
  const found = findScript(root, input);
  resolved.set(key, { path: found.path, file: found.file });
  return found;
}

const resolved = new Map<string, { path: string; file: string }>();

/**
 * A job records its script by path without the extension, and every process resolves that
 * path to the first file of SCRIPT_EXTENSIONS that exists. A file named with a later extension
 * while an earlier one sits beside it (main.mts beside main.ts) would be submitted as one file
 * and run as the other: refused here, before any job exists.
 */
function checkUnambiguous(root: string, file: string, ext: string, input: string): void {
  const bare = file.slice(0, -ext.length);
  const first = SCRIPT_EXTENSIONS.map((e) => bare + e).find((f) => isFile(f));
  if (first === undefined || first === file) return;
  throw new ConfigError(
    `${relative(root, file)} and ${relative(root, first)} both stand for the script path "${relative(root, bare)}" (${input} was asked for): ` +
      `a job records its script without the extension, so it would run ${relative(root, first)}. Rename one of them.`,
  );
}

function findScript(root: string, input: string): ScriptFile {
  const cleaned = input.replace(/^\.\//, '');
  const absolute = isAbsolute(cleaned) ? cleaned : resolve(root, cleaned);
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnknownScriptError(
      input,
      `it is outside the project root ${root}. Scripts live under the root (set it with --root).`,
    );
  }
  const ext = extname(absolute);
  const explicit = (SCRIPT_EXTENSIONS as readonly string[]).includes(ext);
  if (explicit) checkUnambiguous(root, absolute, ext, input);
  const candidates = explicit ? [absolute] : SCRIPT_EXTENSIONS.map((e) => absolute + e);
  for (const file of candidates) {
    if (isFile(file)) {
      checkInsideRoot(root, file, input);
      return { path: scriptPathOf(root, file), file, hash: hashFile(file) };
    }
  }
  const tried = candidates.map((f) => relative(root, f) || f).join(', ');
  throw new UnknownScriptError(input, `no such file under ${root} (looked for ${tried})`);
}

/** The script path of a file under the root: relative, with '/' separators, no extension. */
export function scriptPathOf(root: string, fileOrUrl: string): string {
  const file = fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl.replace(/\?.*$/, '')) : fileOrUrl;
  const rel = relative(root, file);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnknownScriptError(
      file,
      `it is outside the project root ${root}; tasks must be defined in modules under the root`,
    );
  }
  const ext = extname(rel);
  return (ext ? rel.slice(0, -ext.length) : rel).split(sep).join('/');
}

const hashCache = new Map<
  string,
  { mtimeMs: number; ctimeMs: number; size: number; ino: number; hash: string; hashedAt: number }
>();
/**
 * File times tick coarsely (a few ms on Linux), so a file rewritten at the same size right
 * after it was hashed can keep its mtime. A hash taken less than this long after the file's
 * last change is not trusted the next time (git's "racy clean" rule).
 */
const RACY_MS = 1000;

/**
 * The stats of this turn of the event loop, by file. A fan-out submits and runs its thousand
 * children in a few turns, each checking the same script: one stat per turn tells the same as
 * a thousand, since nothing orders a change made elsewhere within a turn.
 */
let statsThisTurn: Map<string, Stats> | undefined;

function statThisTurn(file: string): Stats {
  if (!statsThisTurn) {
    statsThisTurn = new Map();
    setImmediate(() => (statsThisTurn = undefined));
  }
  let st = statsThisTurn.get(file);
  if (!st) statsThisTurn.set(file, (st = statSync(file)));
  return st;
}

/** sha256 of a file's content, hex. Cached while the file's times, size and inode stay the same. */
export function hashFile(file: string): string {
  const st = statThisTurn(file);
  const cached = hashCache.get(file);
  if (
    cached &&
    cached.mtimeMs === st.mtimeMs &&
    cached.ctimeMs === st.ctimeMs &&
    cached.size === st.size &&
    cached.ino === st.ino &&
    cached.hashedAt - Math.max(st.mtimeMs, st.ctimeMs) >= RACY_MS
  ) {
    return cached.hash;
  }
  const hashedAt = Date.now();
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
  hashCache.set(file, { mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, size: st.size, ino: st.ino, hash, hashedAt });
  return hash;
}

/** The first of `files` whose content on disk is no longer at its hash (or that is gone), if any. */
export function firstChanged(files: Iterable<readonly [file: string, hash: string]>): string | undefined {
  for (const [file, hash] of files) {
    try {
      if (hashFile(file) !== hash) return file;
    } catch {
      return file;
    }
  }
  return undefined;
}

function checkInsideRoot(root: string, file: string, input: string): void {
  const outside = linkOutsideRoot(root, file);
  if (outside)
    throw new UnknownScriptError(
      input,
      `it is a link to ${outside}, outside the project root ${root}. Scripts live under the root (set it with --root).`,
    );
}

/**
 * Where `file` really is, when that is outside the root; undefined when it is inside. The root
 * holds what may run: a file under it that is a symlink (or lies in a linked directory) to
 * somewhere outside is refused like a path outside, or a script or flow path would reach any
 * file of the machine through a link.
 */
export function linkOutsideRoot(root: string, file: string): string | undefined {
  const real = realpathSync(file);
  const rel = relative(realpathSync(root), real);
  return rel.startsWith('..') || isAbsolute(rel) ? real : undefined;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
