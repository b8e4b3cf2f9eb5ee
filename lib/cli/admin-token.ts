import { ConfigError } from '../errors.js';
import { rootId } from '../http/identity.js';
import { readTokenFile, tokenFilePath, writeTokenFile, type TokenFile } from '../http/token-file.js';
import { hashToken, newToken } from '../server/auth.js';
import type { Store } from '../store/store.js';

/** The admin token a `server` or `dev` starts with, and whether it is kept in the root's token file. */
export interface AdminTokenPlan {
  /** The token to hand to startServer as `adminToken`; undefined lets a first start create one. */
  token: string | undefined;
  /** Write the token file once the server listens (its URL is known then). */
  keepInFile: boolean;
  /** Why an existing token file is replaced, for the console. */
  note?: string;
  /** What the token is recorded as in the store. */
  label: string;
}

/**
 * `millrace dev`: MILLRACE_TOKEN when set (the user keeps that one; no file is written). Else
 * the token of the root's token file, kept across restarts so that a client's copy stays
 * good; else a new one. Either way it is registered in the store by startServer.
 */
export function devAdminToken(root: string): AdminTokenPlan {
  const fromEnv = process.env.MILLRACE_TOKEN || undefined;
  if (fromEnv) return { token: fromEnv, keepInFile: false, label: 'MILLRACE_TOKEN' };
  const { file, note } = ownTokenFile(root);
  return { token: file?.token ?? newToken(), keepInFile: true, note, label: 'admin (millrace dev, token file)' };
}

/**
 * `millrace server`: MILLRACE_TOKEN when set. Else the token file's token if the store still
 * accepts it (the file then gets the new URL); else nothing, and a first start creates a token,
 * which the caller then keeps in the file.
 */
export async function serverAdminToken(root: string, store: Store): Promise<AdminTokenPlan> {
  const fromEnv = process.env.MILLRACE_TOKEN || undefined;
  if (fromEnv) return { token: fromEnv, keepInFile: false, label: 'MILLRACE_TOKEN' };
  const { file, note } = ownTokenFile(root);
  const label = 'admin (token file)';
  if (file && (await store.findToken(hashToken(file.token))))
    return { token: file.token, keepInFile: true, note, label };
  return { token: undefined, keepInFile: false, note, label };
}

/**
 * Writes the token file for the server now listening at `url`; returns its path, or undefined
 * when it cannot be written (a read-only root): the server keeps running, and says so on
 * stderr with the token itself, since nobody could reach it otherwise.
 */
export function keepAdminToken(options: {
  root: string;
  token: string;
  url: string;
  command: 'dev' | 'server';
}): string | undefined {
  const { root, token, url, command } = options;
  try {
    return writeTokenFile(root, { token, url });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`millrace ${command}: ${err.message}; clients need the token: ${token}\n`);
    return undefined;
  }
}

/** The root's token file when it is one for this root; a file that is not says so, and will be replaced. */
function ownTokenFile(root: string): { file: TokenFile | undefined; note?: string } {
  let file: TokenFile | undefined;
  try {
    file = readTokenFile(root);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { file: undefined, note: `${err.message}; replacing it` };
  }
  if (file && file.root_id !== rootId(root)) {
    return {
      file: undefined,
      note: `the token file ${tokenFilePath(root)} was written for ${file.root}, not this root; replacing it`,
    };
  }
  return { file };
}
