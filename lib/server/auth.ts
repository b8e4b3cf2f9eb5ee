import { createHash, randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { DEFAULT_WORKSPACE, type TokenRecord, type TokenScope } from '../types.js';
import { HttpError } from './http-error.js';

/** Who a request comes from: the token's workspace and what it may reach. */
export interface Principal {
  workspace: string;
  scope: TokenScope;
  label: string;
}

/** A new secret token: `mr_` and 32 random characters. Only its hash is stored. */
export function newToken(): string {
  return `mr_${randomBytes(24).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The characters of a secret that a listing shows (Windmill keeps 10 too): `mr_` and 7 of the 32 random ones. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 10);
}

export async function createToken(
  store: Store,
  options: { workspace?: string; scope: TokenScope; label: string; token?: string; fromEnv?: boolean },
): Promise<{ token: string; record: TokenRecord }> {
  const token = options.token ?? newToken();
  const record: TokenRecord = {
    tokenHash: hashToken(token),
    prefix: tokenPrefix(token),
    workspace: options.workspace ?? DEFAULT_WORKSPACE,
    scope: options.scope,
    label: options.label,
    createdAt: Date.now(),
    fromEnv: options.fromEnv ?? false,
    lastUsedAt: null,
    revokedAt: null,
  };
  const existing = await store.findToken(record.tokenHash);
  if (existing) return { token, record: existing };
  try {
    await store.createToken(record);
  } catch (err) {
    // Two servers that start together with one MILLRACE_TOKEN both try to store it: one wins.
    const stored = await store.findToken(record.tokenHash);
    if (!stored) throw err;
    return { token, record: stored };
  }
  return { token, record };
}

/**
 * How long a server trusts what it read of a token before reading it again: a token revoked
 * through any server (or `millrace token revoke` on the database) is refused everywhere
 * within this long.
 */
export const TOKEN_RECHECK_MS = 1000;
/** How often a server records a token's last use: a write per request would cost more than it tells. */
const LAST_USED_EVERY_MS = 60_000;

interface Cached {
  principal: Principal;
  /** When the store was last read for it; undefined for a token that lives in this process only. */
  checkedAt: number | undefined;
  touchedAt: number;
}

/**
 * The tokens a server has accepted lately, so that a request costs no read of the store, for
 * at most TOKEN_RECHECK_MS. Tokens that live in this process only (the dev UI's session) are
 * `set` and never read from the store.
 */
export class TokenCache {
  private readonly entries = new Map<string, Cached>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Accepts `principal` for the token with this hash as long as this process runs (never stored). */
  set(tokenHash: string, principal: Principal): this {
    this.entries.set(tokenHash, { principal, checkedAt: undefined, touchedAt: 0 });
    return this;
  }

  /** Forgets a token at once (revoked through this server). */
  forget(tokenHash: string): void {
    if (this.entries.get(tokenHash)?.checkedAt !== undefined) this.entries.delete(tokenHash);
  }

  /** Checks a request's bearer token; throws a 401 HttpError with the reason. */
  async authenticate(header: string | undefined): Promise<Principal> {
    if (!header) throw new HttpError(401, 'UNAUTHORIZED', 'Missing token: send "Authorization: Bearer <token>"');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new HttpError(401, 'UNAUTHORIZED', 'Malformed Authorization header: expected "Bearer <token>"');
    const hash = hashToken(match[1]);
    const now = this.now();
    const cached = this.entries.get(hash);
    if (cached && (cached.checkedAt === undefined || now - cached.checkedAt < TOKEN_RECHECK_MS))
      return cached.principal;
    const record = await this.store.findToken(hash);
    if (!record) {
      this.entries.delete(hash);
      throw new HttpError(401, 'UNAUTHORIZED', 'Unknown token');
    }
    if (record.revokedAt !== null) {
      this.entries.delete(hash);
      throw new HttpError(
        401,
        'TOKEN_REVOKED',
        `This token (${record.prefix ?? record.tokenHash.slice(0, 12)}, "${record.label}") was revoked at ${new Date(record.revokedAt).toISOString()}: ask an admin for a new one`,
      );
    }
    const principal: Principal = { workspace: record.workspace, scope: record.scope, label: record.label };
    const touchedAt = cached?.touchedAt ?? 0;
    this.entries.set(hash, {
      principal,
      checkedAt: now,
      touchedAt: now - touchedAt >= LAST_USED_EVERY_MS ? now : touchedAt,
    });
    if (now - touchedAt >= LAST_USED_EVERY_MS) {
      this.store
        .touchToken(hash, now)
        .catch((err: unknown) =>
          console.error(`millrace server: could not record a token's last use: ${(err as Error).message}`),
        );
    }
    return principal;
  }
}

/** Whether the principal may act in `workspace`. Another workspace's things answer 404, not 403. */
export function reaches(principal: Principal, workspace: string): boolean {
  return principal.scope === 'admin' || principal.workspace === workspace;
}
