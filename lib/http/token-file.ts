import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import { rootId } from './identity.js';

/**
 * The token file: `<root>/.millrace/admin-token.json`, mode 0600. `millrace dev` (and
 * `millrace server` when it made its admin token itself) keeps its admin token there, so that
 * the CLI and the helpers on the same machine, in the same root, reach it without a token
 * being copied (http/server-token.ts says when a client uses it).
 */
export interface TokenFile {
  version: 1;
  token: string;
  /** The root it was written for, and its rootId(): a copy of the directory elsewhere is not that root. */
  root: string;
  root_id: string;
  /** The URL of the server that wrote it last (informational: clients check the server's identity, not the URL). */
  url: string;
  pid: number;
  written_at: string;
}

export const TOKEN_FILE = 'admin-token.json';

export function tokenFilePath(root: string): string {
  return join(resolve(root), '.millrace', TOKEN_FILE);
}

/**
 * The token file of `root`, or undefined when there is none. A file that is there but is not
 * a token file is an error that names it, rather than a silent fallback to no token.
 */
export function readTokenFile(root: string): TokenFile | undefined {
  const path = tokenFilePath(root);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`Cannot read the token file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      `The token file ${path} is not JSON (${(err as Error).message}): delete it, and \`millrace dev\` writes a new one`,
    );
  }
  const file = parsed as Partial<TokenFile> | null;
  const valid =
    file !== null &&
    typeof file === 'object' &&
    file.version === 1 &&
    typeof file.token === 'string' &&
    file.token.length > 0 &&
    typeof file.root === 'string' &&
    typeof file.root_id === 'string' &&
    typeof file.url === 'string';
  if (!valid) {
    throw new ConfigError(
      `The token file ${path} is not a millrace token file: expected {"version":1,"token":…,"root":…,"root_id":…,"url":…}, ` +
        `got ${text.length > 80 ? `${text.slice(0, 80)}…` : text}. Delete it, and \`millrace dev\` writes a new one`,
    );
  }
  return file as TokenFile;
}

/**
 * Writes the token file of `root` atomically (a temporary file renamed over it, so a reader
 * sees the old file or the new one, never half of one), mode 0600 from its creation, the
 * directory created if absent. Returns its path.
 */
export function writeTokenFile(root: string, entry: { token: string; url: string }): string {
  const path = tokenFilePath(root);
  const file: TokenFile = {
    version: 1,
    token: entry.token,
    root: resolve(root),
    root_id: rootId(root),
    url: entry.url,
    pid: process.pid,
    written_at: new Date().toISOString(),
  };
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(resolve(root), '.millrace'), { recursive: true });
    rmSync(tmp, { force: true }); // a leftover of a crash would keep its own mode
    writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'w' });
    renameSync(tmp, path);
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The write failed for a reason that stops this too (no directory); the error below says it.
    }
    throw new ConfigError(`Cannot write the token file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return path;
}
