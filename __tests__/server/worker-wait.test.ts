import { afterEach, expect, it } from '@jest/globals';
import { UnknownJobError } from '../../lib/errors.js';
import { ApiClient } from '../../lib/http/api-client.js';
import { resolveScript } from '../../lib/loader/paths.js';
import { startServer } from '../../lib/server/server.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { HttpBackend } from '../../lib/worker/http-backend.js';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';

/**
 * A worker's waits go to the server in batches (`worker/wait`). An id of the batch that names
 * no job is answered at once, as missing, so that its wait ends with UNKNOWN_JOB while the
 * others of the batch go on waiting; a wait for one unknown id is a 404, as before.
 */

const TOKEN = 'mr_worker_wait_admin';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

it('a batch with an unknown id: that wait fails at once with UNKNOWN_JOB, the others wait for their ends', async () => {
  const store = new SqliteStore({ file: tempDb() });
  const server = await startServer({ store, root: REPO_ROOT, port: 0, adminToken: TOKEN });
  const backend = new HttpBackend(new ApiClient({ server: server.url, token: TOKEN }), ['default']);
  cleanups.push(
    () => store.close(),
    () => server.close(),
    () => backend.close(),
  );
  const script = resolveScript(REPO_ROOT, '__tests__/fixtures/sequence');
  // Of a tag nobody serves: it stays queued until it is canceled.
  const parked = await server.coordinator.submit({
    kind: 'script',
    scriptPath: script.path,
    scriptHash: script.hash,
    entrypoint: 'main',
    args: { n: 1 },
    tag: 'nobody',
  });
  const ghost = 'z'.repeat(20);
  // Asked in the same turn: one worker/wait for both.
  const waits = [backend.waitFinished(parked.id), backend.waitFinished(ghost)];
  await expect(waits[1]).rejects.toThrow(new UnknownJobError(ghost));
  await server.coordinator.cancel(parked.id, { reason: 'the test is done with it', by: 'test' });
  await expect(waits[0]).resolves.toMatchObject({ id: parked.id, status: 'canceled' });
  // Alone, an unknown id is a 404 from the server.
  await expect(backend.waitFinished('y'.repeat(20))).rejects.toMatchObject({ status: 404 });
});
