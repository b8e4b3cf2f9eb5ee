import { ServerUnreachableError } from '../http/api-client.js';

/** Between tries of a request the server did not answer (it is restarting, say). */
const RETRY_MS = 500;

/**
 * Sends a request until the server answers it: a server that restarts loses none of what
 * this worker reports. (A request that reached the server before the connection broke may
 * be applied twice; every report is safe to repeat but a log batch, whose lines would then
 * show twice.) It gives up once `closed()` holds.
 */
export async function untilAnswered<T>(send: () => Promise<T>, closed: () => boolean): Promise<T> {
  for (;;) {
    try {
      return await send();
    } catch (err) {
      if (!(err instanceof ServerUnreachableError) || closed()) throw err;
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}
