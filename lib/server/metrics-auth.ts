import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TokenCache } from './auth.js';
import { HttpError } from './http-error.js';

/**
 * Who may read GET /metrics: the bearer of `--metrics-token` (which reaches nothing else), or any
 * token of the server that is not worker-only, as for every other user route.
 */
export async function authorizeMetrics(
  req: IncomingMessage,
  options: { metricsToken: string | undefined; principals: TokenCache },
): Promise<void> {
  const header = req.headers.authorization;
  if (options.metricsToken !== undefined && header?.startsWith('Bearer ')) {
    const given = Buffer.from(header.slice('Bearer '.length));
    const wanted = Buffer.from(options.metricsToken);
    if (given.length === wanted.length && timingSafeEqual(given, wanted)) return;
  }
  const principal = await options.principals.authenticate(header);
  if (principal.scope === 'worker')
    throw new HttpError(403, 'FORBIDDEN', 'This token is for workers: it reaches the worker routes only, not /metrics');
}
