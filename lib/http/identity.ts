import { createHash, createHmac } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The identity route: a server says, without a token, which project root it serves, and proves
 * that it holds an admin token without the client sending it. A client on the same machine
 * uses this before it sends the token of its root's token file (http/server-token.ts), so
 * that the token of one root never goes to another root's server, nor to whatever listens on
 * a port a dev server used to hold. Client and server both import this file: it is the
 * contract of the route.
 */
export const IDENTITY_PATH = '/api/millrace/identity';

/** The answer of `GET /api/millrace/identity?nonce=<hex>`. */
export interface IdentityReply {
  /** rootId() of the root the server serves. */
  root_id: string;
  /** identityProof(admin token, nonce): present when the request had a nonce and the server has an admin token. */
  proof?: string;
}

/**
 * A root's id: 16 hex digits of the sha256 of its real path. It tells "the same root" apart
 * without showing the path to whoever can connect.
 */
export function rootId(root: string): string {
  let path = resolve(root);
  try {
    path = realpathSync(path);
  } catch {
    // A root that does not exist (yet) is named by its resolved path.
  }
  return createHash('sha256').update(path).digest('hex').slice(0, 16);
}

/** HMAC-SHA256 of the nonce keyed by the token: only a holder of the token can compute it. */
export function identityProof(token: string, nonce: string): string {
  return createHmac('sha256', token).update(nonce).digest('hex');
}
