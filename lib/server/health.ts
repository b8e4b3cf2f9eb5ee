import type { Store } from '../store/store.js';
import type { Reply } from './router.js';

/** GET /healthz: the process is up and answering. No token: for load balancers and orchestrators. */
export function healthz(): Reply {
  return { status: 200, json: { status: 'ok' } };
}

/**
 * GET /readyz: this server can take work: it is not shutting down, the store answers, and its
 * schema is at the version this millrace knows. 503 otherwise, saying which. No token.
 */
export async function readyz(store: Store, shuttingDown: boolean): Promise<Reply> {
  if (shuttingDown) return notReady('SHUTTING_DOWN', 'The server is shutting down');
  let state;
  try {
    state = await store.schemaState();
  } catch (err) {
    return notReady('STORE_UNAVAILABLE', `The store does not answer: ${(err as Error).message}`);
  }
  if (state.version !== state.latest) {
    return notReady(
      'SCHEMA_NOT_CURRENT',
      `The store's schema is at version ${state.version}, this millrace needs ${state.latest}: run \`millrace migrate\``,
    );
  }
  return { status: 200, json: { status: 'ready', schema: state } };
}

function notReady(code: string, message: string): Reply {
  return { status: 503, json: { error: { code, message } } };
}
