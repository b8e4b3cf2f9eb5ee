import { identityProof, type IdentityReply } from '../http/identity.js';
import { HttpError } from './http-error.js';
import type { Reply } from './router.js';

/**
 * `GET /api/millrace/identity?nonce=<hex>`, answered without a token: the id of the root this
 * server serves and, given a nonce, proof that it holds its admin token. A local client asks
 * before it sends its root's token file (see http/identity.ts). The root's path is not
 * shown, and the proof is an HMAC of the client's nonce, from which the token cannot be had.
 */
export function identityReply(options: {
  method: string;
  query: URLSearchParams;
  rootId: string;
  adminToken: string | undefined;
}): Reply {
  if (options.method !== 'GET') {
    throw new HttpError(
      405,
      'METHOD_NOT_ALLOWED',
      `${options.method} is not allowed on /api/millrace/identity (allowed: GET)`,
    );
  }
  const nonce = options.query.get('nonce');
  if (nonce !== null && !/^[0-9a-f]{16,128}$/.test(nonce)) {
    throw new HttpError(
      400,
      'BAD_NONCE',
      `nonce: expected 16 to 128 lowercase hex digits, got ${JSON.stringify(nonce.slice(0, 40))}`,
    );
  }
  const reply: IdentityReply = { root_id: options.rootId };
  if (nonce && options.adminToken) reply.proof = identityProof(options.adminToken, nonce);
  return { status: 200, json: reply };
}
