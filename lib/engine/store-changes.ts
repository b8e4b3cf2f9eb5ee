import type { Store, StoreChange } from '../store/store.js';
import { FINISHED_STATUSES } from '../types.js';
import type { Announcements } from './announcements.js';
import type { Hub } from './hub.js';

/** Turns a change another server wrote (a shared store, PostgreSQL) into this process's events. */
export function onStoreChange(store: Store, announce: Announcements, change: StoreChange): void {
  const { hub } = announce;
  switch (change.kind) {
    case 'queued':
      announce.queuedAt(undefined, change.dueAt);
      return;
    case 'started':
      for (const id of change.jobIds) hub.emit(`started:${id}`);
      return;
    case 'logs':
      for (const id of change.jobIds) hub.emit(`logs:${id}`);
      return;
    case 'finished':
      hub.emit('ended', change.jobIds);
      void announceFinished(store, hub, change.jobIds);
      return;
    case 'resync':
      // Changes may have been missed: every waiter looks at the store again.
      hub.emit('ended');
      hub.emit('queued');
      for (const topic of hub.topicsStartingWith('logs:')) hub.emit(topic);
      for (const topic of hub.topicsStartingWith('started:')) hub.emit(topic);
      void announceFinished(
        store,
        hub,
        hub.topicsStartingWith('finished:').map((t) => t.slice('finished:'.length)),
      );
      return;
  }
}

/** `finished:<id>` listeners get the record, so it is read for the ids someone waits on. */
async function announceFinished(store: Store, hub: Hub, jobIds: readonly string[]): Promise<void> {
  const awaited = jobIds.filter((id) => hub.listenerCount(`finished:${id}`) > 0);
  if (awaited.length === 0) return;
  try {
    const jobs = await store.list({ ids: awaited, status: [...FINISHED_STATUSES], limit: awaited.length });
    for (const job of jobs) hub.emit(`finished:${job.id}`, job);
  } catch (err) {
    console.error(`millrace: cannot read finished jobs ${awaited.join(', ')}: ${(err as Error).message}`);
  }
}
