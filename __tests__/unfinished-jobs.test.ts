import { afterEach, expect, it } from '@jest/globals';
import { Coordinator } from '../lib/engine/coordinator.js';
import { UnknownJobError } from '../lib/errors.js';
import { Hub } from '../lib/engine/hub.js';
import { UnfinishedJobs } from '../lib/engine/unfinished-jobs.js';
import { SqliteStore } from '../lib/store/sqlite/sqlite-store.js';

/**
 * A wait for a job this process created and has not heard end reads nothing from the store:
 * the end comes as an event (engine/unfinished-jobs.ts). The store's reads are counted; a wait
 * reads before its first await, so the count right after the call says whether it read.
 */

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function setup() {
  const store = new SqliteStore({ file: ':memory:' });
  let reads = 0;
  const get = store.get.bind(store);
  store.get = (jobId) => {
    reads++;
    return get(jobId);
  };
  const coordinator = new Coordinator(store, { sweepIntervalMs: 3_600_000 });
  closers.push(async () => {
    await coordinator.close();
    await store.close();
  });
  const submit = () =>
    coordinator.submit({ kind: 'task', scriptPath: 's', scriptHash: 'h', entrypoint: 'e', args: [] });
  return { coordinator, submit, reads: () => reads };
}

it('waits for a job it created without reading it, and hears its end', async () => {
  const { coordinator, submit, reads } = setup();
  const job = await submit();
  // Remembered with its workspace: the worker's wait route skips only jobs of its own.
  expect([coordinator.unfinished.has(job.id, 'default'), coordinator.unfinished.has(job.id, 'other')]).toEqual([
    true,
    false,
  ]);
  const waiting = coordinator.waitFinished(job.id);
  expect(reads()).toBe(0);
  await coordinator.finish(job.id, { status: 'success', result: 7 }, Date.now());
  expect(await waiting).toMatchObject({ id: job.id, status: 'success', result: 7 });
  expect(reads()).toBe(0);
  expect(coordinator.unfinished.has(job.id)).toBe(false);
  // Ended: a later wait reads it.
  expect(await coordinator.waitFinished(job.id)).toMatchObject({ status: 'success' });
  expect(reads()).toBe(1);
});

it('reads when another server may have ended it (ended, as after a resync), and for jobs it did not create', async () => {
  const { coordinator, submit, reads } = setup();
  const job = await submit();
  coordinator.hub.emit('ended');
  const stop = new AbortController();
  const waiting = coordinator.waitFinished(job.id, stop.signal);
  expect(reads()).toBe(1);
  stop.abort();
  expect(await waiting).toMatchObject({ id: job.id, status: 'queued' });
  await expect(coordinator.waitFinished('no-such-job')).rejects.toBeInstanceOf(UnknownJobError);
});

it('remembers a job though other jobs ended while it was created, but not one whose own end came meanwhile', () => {
  const hub = new Hub();
  const unfinished = new UnfinishedJobs(hub);
  const mark = unfinished.mark;
  // A fan-out's earlier children end, here and (by id) on another server, while the next are recorded.
  hub.emit('finished:earlier', {});
  hub.emit('ended', ['elsewhere']);
  unfinished.add({ id: 'next', workspace: 'default' }, mark);
  expect(unfinished.has('next')).toBe(true);
  // Its own end heard before it was added (as another server's, or this one's): not remembered.
  hub.emit('ended', ['quick']);
  hub.emit('finished:quicker', {});
  unfinished.add({ id: 'quick', workspace: 'default' }, mark);
  unfinished.add({ id: 'quicker', workspace: 'default' }, mark);
  expect([unfinished.has('quick'), unfinished.has('quicker')]).toEqual([false, false]);
  // Ended with no ids named (a resync): any job may have ended; none created across it is remembered.
  const before = unfinished.mark;
  hub.emit('ended');
  unfinished.add({ id: 'across', workspace: 'default' }, before);
  unfinished.add({ id: 'after', workspace: 'default' }, unfinished.mark);
  expect([unfinished.has('next'), unfinished.has('across'), unfinished.has('after')]).toEqual([false, false, true]);
});

it('does not remember a job created across more ends than it keeps by id', () => {
  const hub = new Hub();
  const unfinished = new UnfinishedJobs(hub);
  const mark = unfinished.mark;
  for (let i = 0; i < 20_001; i++) hub.emit('ended', [`other-${i}`]);
  unfinished.add({ id: 'late', workspace: 'default' }, mark);
  unfinished.add({ id: 'fresh', workspace: 'default' }, unfinished.mark);
  expect([unfinished.has('late'), unfinished.has('fresh')]).toEqual([false, true]);
});
