import type { TokenCache } from './auth.js';
import { HttpError } from './http-error.js';
import type { RouteContext, Router } from './router.js';
import type { ServerDeps } from './server.js';
import { revokeTokenRef, toListing } from './token-admin.js';

/**
 * Windmill's token routes (`/api/users/tokens/…`), for admin tokens only: a list that never
 * shows a secret, and revocation by id or prefix. A token revoked here is refused by this
 * server at once and by every other server on the database within TOKEN_RECHECK_MS.
 */
export function tokenRoutes(router: Router, deps: ServerDeps, cache: TokenCache): void {
  router.add('GET', '/api/users/tokens/list', 'user', async (ctx) => {
    adminOnly(ctx);
    const tokens = await deps.store.listTokens();
    return { status: 200, json: tokens.map(toListing) };
  });

  router.add('DELETE', '/api/users/tokens/delete/{ref}', 'user', async (ctx) => {
    adminOnly(ctx);
    const { record, revoked } = await revokeTokenRef(deps.store, ctx.params.ref);
    cache.forget(record.tokenHash);
    const listing = toListing(record);
    return { status: 200, text: revoked ? `revoked token ${listing.id}` : `token ${listing.id} was already revoked at ${listing.revoked_at}` };
  });
}

function adminOnly(ctx: RouteContext): void {
  if (ctx.principal.scope !== 'admin') {
    throw new HttpError(403, 'FORBIDDEN', `Tokens are managed with an admin token; this one ("${ctx.principal.label}") is a ${ctx.principal.scope === 'user' ? 'workspace' : ctx.principal.scope} token`);
  }
}
