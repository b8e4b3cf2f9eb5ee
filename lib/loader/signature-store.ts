import { createHash } from 'node:crypto';
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { Signature } from './signature.js';

/**
 * Signatures (and scripts' config literals) kept on disk between processes. Reading main's
 * signature needs the TypeScript compiler, and loading it was most of a short `millrace run`'s
 * CPU (about a second on a slow machine) and of a worker's first job. A signature depends on
 * nothing but the script's source, its kind (the file's extension), the entrypoint's name, and
 * the code that reads it (the loader's modules and the compiler's version), so a file named by
 * the hash of all of them is never stale: an edit, an upgrade or another entrypoint names
 * another file. A script's `export const config` literal likewise, by its source.
 *
 * The directory: `$MILLRACE_CACHE_DIR`, else `$XDG_CACHE_HOME/millrace`, else
 * `~/.cache/millrace`; `signatures/` in it. A cache that cannot be read or written is passed
 * by: the signature is inferred as without it, and a file that does not hold a signature is
 * written again.
 */

/** Files kept; past it, a write removes the least recently used down to PRUNED_TO. */
export const MAX_STORED = 2000;
const PRUNED_TO = 1500;

/** The directory the signatures are kept in. */
export function signatureDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.MILLRACE_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'millrace');
  return join(base, 'signatures');
}

/** The signature of `source` from the disk, else `infer()`'s, written there for the next process. */
export function storedSignature(
  source: string,
  fileName: string,
  entrypoint: string,
  infer: () => Signature,
): Signature {
  return stored(['signature', extname(fileName), entrypoint, source], isSignature, infer);
}

/** What a script's `export const config` holds, as script-config.ts reads it: the literal, or none. */
export type StoredConfig = { found: false } | { found: true; value: unknown };

/** A script's config literal from the disk, else `infer()`'s, written there for the next process. */
export function storedConfig(source: string, infer: () => StoredConfig): StoredConfig {
  return stored(['config', source], isStoredConfig, infer);
}

function stored<T>(parts: string[], valid: (v: unknown) => v is T, infer: () => T): T {
  const stamp = codeStamp();
  // Without the reading code's own files (millrace bundled into one file), nothing is kept.
  if (stamp === null) return infer();
  const dir = signatureDir();
  const file = join(dir, `${key(stamp, parts)}.json`);
  const found = read(file, valid);
  if (found !== undefined) return found;
  const value = infer();
  write(dir, file, value);
  return value;
}

function key(stamp: string, parts: string[]): string {
  const hash = createHash('sha256').update(stamp);
  for (const part of parts) hash.update('\0').update(part);
  return hash.digest('hex');
}

let stamp: string | null | undefined;
/** The code that reads a signature: these modules' sources and TypeScript's version (read without loading it); null when they cannot be read. */
function codeStamp(): string | null {
  if (stamp === undefined) {
    try {
      const here = fileURLToPath(import.meta.url);
      const ext = extname(here);
      const hash = createHash('sha256');
      for (const name of ['signature', 'windmill-workflow', 'commonjs-exports', 'script-config', 'signature-store'])
        hash.update(readFileSync(join(here, '..', `${name}${ext}`)));
      const tsPackage = createRequire(import.meta.url).resolve('typescript/package.json');
      hash.update((JSON.parse(readFileSync(tsPackage, 'utf8')) as { version: string }).version);
      stamp = hash.digest('hex');
    } catch {
      stamp = null;
    }
  }
  return stamp;
}

function read<T>(file: string, valid: (v: unknown) => v is T): T | undefined {
  try {
    const value: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (!valid(value)) return undefined;
    touch(file);
    return value;
  } catch {
    return undefined; // none yet, cut short or garbled: inferred and written again
  }
}

function isStoredConfig(v: unknown): v is StoredConfig {
  const c = v as Partial<{ found: unknown; value: unknown }> | null;
  return typeof c === 'object' && c !== null && (c.found === false || (c.found === true && 'value' in c));
}

function isSignature(v: unknown): v is Signature {
  const sig = v as Partial<Signature> | null;
  return (
    typeof sig === 'object' &&
    sig !== null &&
    typeof sig.hasMain === 'boolean' &&
    Array.isArray(sig.params) &&
    Array.isArray(sig.exports) &&
    typeof sig.schema === 'object' &&
    sig.schema !== null
  );
}

/** Its mtime is when it was last used: pruning keeps the recently used. */
function touch(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // a read-only cache still serves
  }
}

function write(dir: string, file: string, value: unknown): void {
  try {
    const text = JSON.stringify(value);
    // What JSON cannot hold (a literal 1e999 is Infinity) is read again next time rather than changed.
    if (!isDeepStrictEqual(JSON.parse(text), value)) return;
    mkdirSync(dir, { recursive: true });
    // Written whole under another name, then renamed: a reader in another process sees all of it or none.
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    pruneSignatures(dir);
  } catch {
    // no cache here (read-only, full, not a directory): the next process infers it again
  }
}

/**
 * Removes the least recently used signatures once there are more than `max`, down to `keep`,
 * and what a process that died between writing and renaming left (a `.tmp` an hour old).
 */
export function pruneSignatures(dir: string, max = MAX_STORED, keep = PRUNED_TO): number {
  const names = readdirSync(dir);
  const stored = names.filter((n) => n.endsWith('.json'));
  const old = Date.now() - 3600_000;
  let removed = 0;
  for (const n of names.filter((n) => n.endsWith('.tmp')))
    if (modified(join(dir, n)) < old && remove(join(dir, n))) removed++;
  if (stored.length <= max) return removed;
  const used = stored
    .map((n) => ({ file: join(dir, n), at: modified(join(dir, n)) }))
    .filter((e) => Number.isFinite(e.at))
    .sort((a, b) => a.at - b.at);
  for (const { file } of used.slice(0, Math.max(0, used.length - keep))) if (remove(file)) removed++;
  return removed;
}

/** A file's mtime, or NaN once another process removed it. */
function modified(file: string): number {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return NaN;
  }
}

/** Whether this call removed the file (another process may have first). */
function remove(file: string): boolean {
  try {
    unlinkSync(file);
    return true;
  } catch {
    return false;
  }
}
