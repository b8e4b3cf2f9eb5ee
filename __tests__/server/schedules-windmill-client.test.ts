import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as wmill from 'windmill-client';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import { startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** windmill-client's ScheduleService, unchanged, against a millrace server: Windmill's `f/folder/name` paths included. */
describe('windmill-client schedules against millrace', () => {
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  let engine: HttpEngine;

  beforeAll(async () => {
    server = await startServerProcess();
    worker = await startWorkerProcess(server.url, ['--tag', 'default']);
    wmill.setClient(TEST_TOKEN, server.url);
    engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
  });
  afterAll(async () => {
    await engine?.close();
    await worker?.proc.kill();
    await server?.proc.kill();
  });

  it('creates, gets, lists, disables and deletes a schedule; the server runs its slots', async () => {
    const path = 'f/reports/every_second';
    const created = await wmill.ScheduleService.createSchedule({
      workspace: 'default',
      requestBody: {
        path,
        schedule: '* * * * * *',
        timezone: 'UTC',
        script_path: '__tests__/fixtures/tick',
        is_flow: false,
        args: { label: 'wm' },
      },
    });
    expect(created).toBe(path);
    const got = (await wmill.ScheduleService.getSchedule({ workspace: 'default', path })) as unknown as Record<
      string,
      unknown
    >;
    expect(got).toMatchObject({
      path,
      schedule: '* * * * * *',
      timezone: 'UTC',
      script_path: '__tests__/fixtures/tick',
      is_flow: false,
      args: { label: 'wm' },
      enabled: true,
    });
    const listed = await wmill.ScheduleService.listSchedules({ workspace: 'default' });
    expect(listed.map((s) => s.path)).toEqual([path]);

    // Runs are made by the server's clock: the test looks until two have finished.
    for (;;) {
      const runs = await engine.list({ scriptPath: '__tests__/fixtures/tick', status: ['success'], limit: 10 });
      if (runs.length >= 2) {
        expect(
          runs.every((r) => r.result === 'wm' && r.idempotencyKey!.startsWith(`schedule:${got.id as string}:`)),
        ).toBe(true);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }

    await wmill.ScheduleService.setScheduleEnabled({ workspace: 'default', path, requestBody: { enabled: false } });
    expect(
      ((await wmill.ScheduleService.getSchedule({ workspace: 'default', path })) as unknown as { enabled: boolean })
        .enabled,
    ).toBe(false);
    await wmill.ScheduleService.deleteSchedule({ workspace: 'default', path });
    expect(await wmill.ScheduleService.listSchedules({ workspace: 'default' })).toEqual([]);
    await expect(wmill.ScheduleService.getSchedule({ workspace: 'default', path })).rejects.toThrow();
  });
});
