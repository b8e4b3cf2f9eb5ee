import type { CancelJobBody } from '../http/wire.js';
import { object, optionalString } from './validate.js';

/**
 * The bodies of the user's job routes, checked and typed (Windmill's `jobs_u/queue/cancel`
 * and millrace's `jobs_u/cancel`). A script's args (`jobs/run/p/…`) are checked where they are
 * decoded, in routes-windmill.ts.
 */

/** An optional body: none is the same as `{}`. */
export function parseCancelJob(raw: unknown): CancelJobBody {
  const reason = optionalString(object(raw ?? {}), 'reason');
  return reason === undefined ? {} : { reason };
}
