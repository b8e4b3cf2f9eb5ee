import { afterAll, describe, expect, it } from '@jest/globals';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { HttpSchedules } from '../../lib/engine/http-schedules.js';
import { ApiClient } from '../../lib/http/api-client.js';
import { SqliteStore } from '../../lib/store/sqlite/sqlite-store.js';
import { tempDb } from '../helpers/engine.js';
import { startServerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

const DAY = 86_400_000;

/**
 * The missed-slot rule with real servers and a stored clock value: a schedule recorded as
 * active since three days ago, whose servers were all down, runs its latest slot once when a
 * server starts (before the server says it listens), and a restart runs it not again.
 */
describe('slots missed while every server was down', () => {
  const procs: Proc[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  });

  it('runs the latest once at the start, and nothing more at the next start', async () => {
    const db = tempDb();
    // A daily slot twelve hours from now's hour: the latest one passed is about twelve hours
    // ago, and the next is hours away, whatever time the test runs.
    const hour = (new Date().getUTCHours() + 12) % 24;
    const setup = new SqliteStore({ file: db });
    const threeDaysAgo = Date.now() - 3 * DAY;
    const made = await setup.createSchedule(
      {
        workspace: 'default',
        name: 'daily',
        path: '__tests__/fixtures/tick',
        cron: `0 ${hour} * * *`,
        timezone: 'UTC',
        args: { label: 'late' },
      },
      threeDaysAgo,
    );
    await setup.close();
    const now = new Date();
    const latest =
      Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour) - (hour > now.getUTCHours() ? DAY : 0);

    const first = await startServerProcess([], db);
    procs.push(first.proc);
    const client = new ApiClient({ server: first.url, token: TEST_TOKEN });
    const engine = new HttpEngine({ server: first.url, token: TEST_TOKEN });
    // Listening means the start's catch-up was submitted.
    const runs = await engine.list({ scriptPath: '__tests__/fixtures/tick', limit: 100 });
    expect(runs.map((r) => r.idempotencyKey)).toEqual([`schedule:${made.id}:${latest}`]);
    const view = await new HttpSchedules(client, 'default').get('daily');
    expect(view).toMatchObject({ lastSlot: latest, lastJob: runs[0].id });
    expect(view.nextSlot).toBe(latest + DAY);
    await client.close();
    await engine.close();
    await first.proc.kill('SIGKILL');

    const second = await startServerProcess([], db);
    procs.push(second.proc);
    const again = new HttpEngine({ server: second.url, token: TEST_TOKEN });
    try {
      expect((await again.list({ scriptPath: '__tests__/fixtures/tick', limit: 100 })).map((r) => r.id)).toEqual([
        runs[0].id,
      ]);
    } finally {
      await again.close();
    }
  });
});
