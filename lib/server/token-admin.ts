import { ConfigError, UnknownTokenError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { TokenRecord } from '../types.js';
import { createToken, hashToken } from './auth.js';

/** A token as `millrace token list` and `GET /api/users/tokens/list` show it: never its secret. */
export interface TokenListing {
  /** The first 12 hex digits of the token's hash: names any token, old ones too. */
  id: string;
  /** The secret's first 10 characters (Windmill's `token_prefix`); null for tokens made before millrace kept it. */
  token_prefix: string | null;
  label: string;
  workspace: string;
  /** admin: every workspace; workspace: its own workspace; worker: its workspace's worker routes only. */
  scope: 'admin' | 'workspace' | 'worker';
  /** Made from MILLRACE_TOKEN at a server's start. */
  from_env: boolean;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export function tokenId(record: TokenRecord): string {
  return record.tokenHash.slice(0, 12);
}

export function toListing(record: TokenRecord): TokenListing {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: tokenId(record),
    token_prefix: record.prefix,
    label: record.label,
    workspace: record.workspace,
    scope: record.scope === 'user' ? 'workspace' : record.scope,
    from_env: record.fromEnv,
    created_at: new Date(record.createdAt).toISOString(),
    last_used_at: iso(record.lastUsedAt),
    revoked_at: iso(record.revokedAt),
  };
}

/** The shortest id people may type: fewer hex digits would too often name several tokens. */
const MIN_ID_CHARS = 6;

/**
 * The one token that `ref` names: its id (or at least 6 leading hex digits of it), its prefix
 * as listed, or the whole secret. Throws UnknownTokenError when none or several match.
 */
export async function findTokenByRef(store: Store, ref: string): Promise<TokenRecord> {
  const whole = await store.findToken(hashToken(ref));
  if (whole) return whole;
  const all = await store.listTokens();
  const byPrefix = all.filter((t) => t.prefix !== null && t.prefix === ref);
  const byId =
    /^[0-9a-f]+$/.test(ref) && ref.length >= MIN_ID_CHARS ? all.filter((t) => t.tokenHash.startsWith(ref)) : [];
  const found = [...new Set([...byPrefix, ...byId])];
  if (found.length === 1) return found[0];
  if (found.length > 1)
    throw new UnknownTokenError(ref, `it matches ${found.map((t) => `${tokenId(t)} ("${t.label}")`).join(', ')}`);
  if (/^[0-9a-f]+$/.test(ref) && ref.length < MIN_ID_CHARS) {
    throw new UnknownTokenError(ref, `expected at least ${MIN_ID_CHARS} characters of the id, got ${ref.length}`);
  }
  throw new UnknownTokenError(ref);
}

/** Revokes the token `ref` names. `revoked` is false when it had been revoked before (and stays as it was). */
export async function revokeTokenRef(
  store: Store,
  ref: string,
  at = Date.now(),
): Promise<{ record: TokenRecord; revoked: boolean }> {
  const record = await findTokenByRef(store, ref);
  const revoked = await store.revokeToken(record.tokenHash, at);
  return { record: (await store.findToken(record.tokenHash)) ?? record, revoked };
}

/**
 * Installs a server's MILLRACE_TOKEN: stores it (as an admin token) when new, and revokes
 * every other token an earlier MILLRACE_TOKEN made, so that rotating the variable and
 * restarting retires the old one. A MILLRACE_TOKEN that was revoked does not come back.
 */
export async function installEnvToken(store: Store, token: string): Promise<TokenRecord> {
  const { record } = await createToken(store, { scope: 'admin', label: 'MILLRACE_TOKEN', token, fromEnv: true });
  if (record.revokedAt !== null) {
    throw new ConfigError(
      `MILLRACE_TOKEN (${record.prefix ?? tokenId(record)}…) was revoked at ${new Date(record.revokedAt).toISOString()}: ` +
        'set MILLRACE_TOKEN to a new secret (e.g. `openssl rand -base64 24`), or unset it',
    );
  }
  if (record.scope !== 'admin') {
    throw new ConfigError(
      `MILLRACE_TOKEN is stored already as a ${toListing(record).scope} token ("${record.label}"): expected a secret of its own for the admin token`,
    );
  }
  const now = Date.now();
  for (const old of await store.listTokens()) {
    if (old.fromEnv && old.revokedAt === null && old.tokenHash !== record.tokenHash)
      await store.revokeToken(old.tokenHash, now);
  }
  return record;
}
