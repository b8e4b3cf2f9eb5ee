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

export async function createToken(
  store: Store,
  options: { workspace?: string; scope: TokenScope; label: string; token?: string },
): Promise<{ token: string; record: TokenRecord }> {
  const token = options.token ?? newToken();
  const record: TokenRecord = {
    tokenHash: hashToken(token),
    workspace: options.workspace ?? DEFAULT_WORKSPACE,
    scope: options.scope,
    label: options.label,
    createdAt: Date.now(),
  };
  if (!(await store.findToken(record.tokenHash))) await store.createToken(record);
  return { token, record };
}

/** Checks a request's bearer token; throws a 401 HttpError with the reason. */
export async function authenticate(store: Store, header: string | undefined, cache: Map<string, Principal>): Promise<Principal> {
  if (!header) throw new HttpError(401, 'UNAUTHORIZED', 'Missing token: send "Authorization: Bearer <token>"');
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match) throw new HttpError(401, 'UNAUTHORIZED', 'Malformed Authorization header: expected "Bearer <token>"');
  const hash = hashToken(match[1]);
  let principal = cache.get(hash);
  if (!principal) {
    const record = await store.findToken(hash);
    if (!record) throw new HttpError(401, 'UNAUTHORIZED', 'Unknown token');
    principal = { workspace: record.workspace, scope: record.scope, label: record.label };
    cache.set(hash, principal);
  }
  return principal;
}

/** Whether the principal may act in `workspace`. Another workspace's things answer 404, not 403. */
export function reaches(principal: Principal, workspace: string): boolean {
  return principal.scope === 'admin' || principal.workspace === workspace;
}
