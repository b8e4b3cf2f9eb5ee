/**
 * The key that makes a slot run once. A schedule's run at slot S is submitted with the
 * idempotency key `schedule:<schedule id>:<S>`, and the stores keep idempotency keys unique
 * per workspace (a unique index): two servers firing the same slot end with one job, and a
 * server that fires a slot again after a restart gets the job already recorded. The
 * schedule's id (not its name) is in the key, so a schedule deleted and made again under
 * the same name starts afresh.
 */
export function slotKey(scheduleId: string, slot: number): string {
  return `${slotKeyPrefix(scheduleId)}${slot}`;
}

/** What every slot key of a schedule starts with: its runs are the jobs whose key does. */
export function slotKeyPrefix(scheduleId: string): string {
  return `schedule:${scheduleId}:`;
}
