import { describe, expect, it } from '@jest/globals';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';
import type { JobSpec, QueueSummary } from '../lib/types.js';
import { tempDb } from './helpers/engine.js';
import { startMillrace } from './helpers/processes.js';

/** `millrace queue`: queued and running counts per tag and per key, as text and as JSON. */
describe('millrace queue', () => {
  it('shows the counts per tag and per concurrency and rate key, with their limits', async () => {
    const db = tempDb();
    const store = new SqliteStore({ file: db });
    const spec = (over: Partial<JobSpec>): JobSpec => ({
      kind: 'script',
      scriptPath: 's',
      scriptHash: 'h',
      entrypoint: 'main',
      args: {},
      ...over,
    });
    for (let i = 0; i < 3; i++)
      await store.enqueue(spec({ tag: 'io', flowControl: { concurrency: { key: 'api:stripe', limit: 2 } } }));
    await store.enqueue(spec({ flowControl: { rateLimit: { key: 'geo', limit: 5, perMs: 1000 } } }));
    await store.claim({ workerId: 'w', tags: ['io'], limit: 10, leaseMs: 60_000 });
    await store.close();

    const json = startMillrace(['queue', '--db', db, '--json']);
    expect(await json.exited).toBe(0);
    expect(JSON.parse(json.output()) as QueueSummary).toEqual({
      tags: [
        { tag: 'default', queued: 1, running: 0 },
        { tag: 'io', queued: 1, running: 2 },
      ],
      keys: [
        { kind: 'concurrency', key: 'api:stripe', queued: 1, running: 2, limit: 2 },
        { kind: 'rate', key: 'geo', queued: 1, running: 0, limit: 5, perMs: 1000 },
      ],
    });
    const text = startMillrace(['queue', '--db', db]);
    expect(await text.exited).toBe(0);
    expect(text.output().split('\n')).toEqual([
      'TAG / KEY                        QUEUED  RUNNING  LIMIT',
      'tag default                           1        0  ',
      'tag io                                1        2  ',
      'concurrency api:stripe                1        2  2 at once',
      'rate geo                              1        0  5 per 1 s',
      '',
    ]);
  });
});
