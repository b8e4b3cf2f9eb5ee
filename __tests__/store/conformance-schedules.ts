import { expect, it } from '@jest/globals';
import { ScheduleExistsError } from '../../lib/errors-operations.js';
import { slotKey } from '../../lib/schedule/slot-key.js';
import type { Store } from '../../lib/store/store.js';
import type { JobSpec, NewSchedule } from '../../lib/types.js';

/** The schedule verbs of the store conformance suite (called from conformance.ts, in its describe). */
export function scheduleConformance(getStore: () => Store): void {
  const schedule = (over: Partial<NewSchedule> = {}): NewSchedule => ({
    workspace: 'default',
    name: 'nightly',
    path: 'examples/heavy',
    cron: '0 3 * * *',
    timezone: 'Europe/Paris',
    args: { n: 3, when: { __millrace: 'date', value: '2026-01-01T00:00:00.000Z' } },
    ...over,
  });
  const run = (key: string): JobSpec => ({
    kind: 'script',
    scriptPath: 'examples/heavy',
    scriptHash: 'abc',
    entrypoint: 'main',
    args: {},
    idempotencyKey: key,
  });

  it('records a schedule with every field, unique by name per workspace', async () => {
    const store = getStore();
    const made = await store.createSchedule(schedule(), 1000);
    expect(made).toEqual({
      id: made.id,
      workspace: 'default',
      name: 'nightly',
      path: 'examples/heavy',
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      args: { n: 3, when: { __millrace: 'date', value: '2026-01-01T00:00:00.000Z' } },
      paused: false,
      createdAt: 1000,
      activeSince: 1000,
      lastSlot: null,
      lastJob: null,
    });
    expect(await store.getSchedule('default', 'nightly')).toEqual(made);
    await expect(store.createSchedule(schedule({ cron: '* * * * *' }), 2000)).rejects.toThrow(ScheduleExistsError);
    const elsewhere = await store.createSchedule(schedule({ workspace: 'other' }), 3000);
    expect(elsewhere.id).not.toBe(made.id);
    expect((await store.listSchedules('default')).map((s) => s.id)).toEqual([made.id]);
    expect((await store.listSchedules()).map((s) => s.workspace)).toEqual(['default', 'other']);
    expect(await store.getSchedule('default', 'missing')).toBeUndefined();
  });

  it('pauses and resumes: a resume makes it active from then; an unknown name is undefined', async () => {
    const store = getStore();
    await store.createSchedule(schedule(), 1000);
    expect(await store.setSchedulePaused('default', 'nightly', true, 2000)).toMatchObject({
      paused: true,
      activeSince: 1000,
    });
    // Pausing again changes nothing.
    expect(await store.setSchedulePaused('default', 'nightly', true, 2500)).toMatchObject({
      paused: true,
      activeSince: 1000,
    });
    expect(await store.setSchedulePaused('default', 'nightly', false, 3000)).toMatchObject({
      paused: false,
      activeSince: 3000,
    });
    // Resuming an active one does not move its start.
    expect(await store.setSchedulePaused('default', 'nightly', false, 4000)).toMatchObject({
      paused: false,
      activeSince: 3000,
    });
    expect(await store.setSchedulePaused('default', 'missing', true, 5000)).toBeUndefined();
  });

  it('records the latest slot that ran (an earlier one never replaces it) and lists its runs newest first', async () => {
    const store = getStore();
    const s = await store.createSchedule(schedule(), 1000);
    const first = (await store.enqueue(run(slotKey(s.id, 60_000)))).job;
    const second = (await store.enqueue(run(slotKey(s.id, 120_000)))).job;
    await store.enqueue(run('schedule:someoneelse:60000'));
    await store.recordScheduleSlot(s.id, 120_000, second.id);
    await store.recordScheduleSlot(s.id, 60_000, first.id);
    expect(await store.getSchedule('default', 'nightly')).toMatchObject({ lastSlot: 120_000, lastJob: second.id });
    expect((await store.scheduleRuns(s, 10)).map((j) => j.id)).toEqual([second.id, first.id]);
    expect((await store.scheduleRuns(s, 1)).map((j) => j.id)).toEqual([second.id]);
  });

  it('runs a slot once: a second submission with its key gets the first job', async () => {
    const store = getStore();
    const s = await store.createSchedule(schedule(), 1000);
    const [a, b] = await Promise.all([
      store.enqueue(run(slotKey(s.id, 60_000))),
      store.enqueue(run(slotKey(s.id, 60_000))),
    ]);
    expect(a.job.id).toBe(b.job.id);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(await store.scheduleRuns(s, 10)).toHaveLength(1);
  });

  it('deletes a schedule, keeping its runs', async () => {
    const store = getStore();
    const s = await store.createSchedule(schedule(), 1000);
    const { job } = await store.enqueue(run(slotKey(s.id, 60_000)));
    expect(await store.deleteSchedule('default', 'nightly')).toBe(true);
    expect(await store.deleteSchedule('default', 'nightly')).toBe(false);
    expect(await store.getSchedule('default', 'nightly')).toBeUndefined();
    expect(await store.get(job.id)).toBeDefined();
    // The name is free again, for a schedule of its own (another id: its slots start afresh).
    const again = await store.createSchedule(schedule(), 2000);
    expect(again.id).not.toBe(s.id);
    expect(await store.scheduleRuns(again, 10)).toEqual([]);
  });
}
