import { HttpError } from './http-error.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { revokeTokenRef, toListing } from './token-admin.js';

async function listTokens(ctx: RouteContext, { store }: ServerDeps): Promise<Reply> {
  adminOnly(ctx);
  const tokens = await store.listTokens();
  return { status: 200, json: tokens.map(toListing) };
}

async function deleteToken(ctx: RouteContext, { store, tokens }: ServerDeps): Promise<Reply> {
  adminOnly(ctx);
  const { record, revoked } = await revokeTokenRef(store, ctx.params.ref);
  tokens.forget(record.tokenHash);
  const listing = toListing(record);
  return {
    status: 200,
    text: revoked ? `revoked token ${listing.id}` : `token ${listing.id} was already revoked at ${listing.revoked_at}`,
  };
}

/**
 * Windmill's token routes (`/api/users/tokens/…`), for admin tokens only: a list that never
 * shows a secret, and revocation by id or prefix. A token revoked here is refused by this
 * server at once and by every other server on the database within TOKEN_RECHECK_MS.
 */
export const tokenRoutes: readonly RouteEntry[] = [
  { method: 'GET', pattern: '/api/users/tokens/list', audience: 'user', handler: listTokens },
  { method: 'DELETE', pattern: '/api/users/tokens/delete/{ref}', audience: 'user', handler: deleteToken },
];

function adminOnly(ctx: RouteContext): void {
  if (ctx.principal.scope !== 'admin') {
    throw new HttpError(
      403,
      'FORBIDDEN',
      `Tokens are managed with an admin token; this one ("${ctx.principal.label}") is a ${ctx.principal.scope === 'user' ? 'workspace' : ctx.principal.scope} token`,
    );
  }
}
