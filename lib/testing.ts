/**
 * millrace/testing: an embedded engine whose clock the test moves. Kept out of the main
 * entry, so production code never loads it.
 *
 *   const t = await testEngine({ root });
 *   const job = await t.submit({ path: 'workflows/onboarding' });
 *   await t.advance('3d');
 *   expect((await t.engine.get(job.id))!.status).toBe('success');
 */
export { testEngine, TestEngine, type TestEngineOptions } from './testing/engine.js';
export { TestClock } from './testing/test-clock.js';
export { durationMs } from './testing/duration.js';
export type { Clock, ClockTimer } from './clock.js';
export type { Schedules, CreateScheduleRequest } from './engine/schedules.js';
export type { ScheduleRecord, ScheduleView, ScheduleRun } from './types.js';
