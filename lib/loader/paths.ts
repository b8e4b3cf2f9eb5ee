import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnknownScriptError } from '../errors.js';

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

function findScript(root: string, input: string): ScriptFile {
  const cleaned = input.replace(/^\.\//, '');
  const absolute = isAbsolute(cleaned) ? cleaned : resolve(root, cleaned);
  const rel = relative(root, absolute);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnknownScriptError(input, `it is outside the project root ${root}. Scripts live under the root (set it with --root).`);
  }
  const ext = extname(absolute);
  const candidates = (SCRIPT_EXTENSIONS as readonly string[]).includes(ext)
    ? [absolute]
    : SCRIPT_EXTENSIONS.map((e) => absolute + e);
  for (const file of candidates) {
    if (isFile(file)) return { path: scriptPathOf(root, file), file, hash: hashFile(file) };
  }
  const tried = candidates.map((f) => relative(root, f) || f).join(', ');
  throw new UnknownScriptError(input, `no such file under ${root} (looked for ${tried})`);
}

/** The script path of a file under the root: relative, with '/' separators, no extension. */
export function scriptPathOf(root: string, fileOrUrl: string): string {
  const file = fileOrUrl.startsWith('file:') ? fileURLToPath(fileOrUrl.replace(/\?.*$/, '')) : fileOrUrl;
  const rel = relative(root, file);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new UnknownScriptError(file, `it is outside the project root ${root}; tasks must be defined in modules under the root`);
  }
  const ext = extname(rel);
  return (ext ? rel.slice(0, -ext.length) : rel).split(sep).join('/');
}

const hashCache = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** sha256 of a file's content, hex. Cached while the file's mtime and size stay the same. */
export function hashFile(file: string): string {
  const st = statSync(file);
  const cached = hashCache.get(file);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.hash;
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex');
  hashCache.set(file, { mtimeMs: st.mtimeMs, size: st.size, hash });
  return hash;
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
