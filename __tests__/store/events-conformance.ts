import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Store } from '../../lib/store/store.js';
import { NEVER_DUE, type JobSpec } from '../../lib/types.js';

/**
 * The event verbs of the Store (sendEvent, takeEvent, events, signingSecret), part of the
 * conformance suite (conformance.ts runs it on every store).
 */
export function eventsConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance, events: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    const root = async () =>
      (await store.enqueue({ kind: 'script', scriptPath: 's', scriptHash: 'h', entrypoint: 'main', args: {} })).job;
    const waitSpec = (parentJob: string, event: string, callKey: string, over: Partial<JobSpec> = {}): JobSpec => ({
      kind: 'wait',
      scriptPath: 's',
      scriptHash: 'h',
      entrypoint: event,
      args: [{}],
      parentJob,
      callKey,
      scheduledFor: NEVER_DUE,
      ...over,
    });

    it('delivers an event to the queued wait of its name, finishing it with the payload', async () => {
      const job = await root();
      const { job: other } = await store.enqueue(waitSpec(job.id, 'other', '@wait:other:0'));
      const { job: wait } = await store.enqueue(waitSpec(job.id, 'paid', '@wait:paid:0'));
      const delivery = await store.sendEvent(job.id, 'paid', { amount: 3 }, 1_000);
      expect(delivery.status).toBe('delivered');
      const finished = delivery.status === 'delivered' ? delivery.wait : undefined;
      expect(finished).toMatchObject({ id: wait.id, status: 'success', result: { amount: 3 }, completedAt: 1_000 });
      expect(await store.get(wait.id)).toMatchObject({ status: 'success', result: { amount: 3 } });
      expect((await store.get(other.id))!.status).toBe('queued');
      expect(await store.events(job.id)).toEqual([
        { jobId: job.id, name: 'paid', payload: { amount: 3 }, sentAt: 1_000, waitJob: wait.id },
      ]);
      // A wait never due is never claimed: only its event ends it.
      expect(await store.claim({ workerId: 'w', tags: 'all', limit: 10, leaseMs: 1000 })).toEqual([
        expect.objectContaining({ id: job.id }),
      ]);
    });

    it('keeps an event sent before its wait, and the next wait of its name takes it, once', async () => {
      const job = await root();
      expect(await store.sendEvent(job.id, 'paid', 'first', 1)).toEqual({ status: 'kept' });
      expect(await store.sendEvent(job.id, 'paid', 'second', 2)).toEqual({ status: 'kept' });
      const { job: wait1 } = await store.enqueue(waitSpec(job.id, 'paid', '@wait:paid:0'));
      expect(await store.takeEvent(wait1.id, 5)).toMatchObject({ id: wait1.id, status: 'success', result: 'first' });
      expect(await store.takeEvent(wait1.id, 6)).toBeUndefined(); // finished: takes nothing more
      const { job: wait2 } = await store.enqueue(waitSpec(job.id, 'paid', '@wait:paid:1'));
      expect(await store.takeEvent(wait2.id, 7)).toMatchObject({ result: 'second' });
      const { job: wait3 } = await store.enqueue(waitSpec(job.id, 'paid', '@wait:paid:2'));
      expect(await store.takeEvent(wait3.id, 8)).toBeUndefined();
      expect((await store.events(job.id)).map((e) => [e.payload, e.waitJob])).toEqual([
        ['first', wait1.id],
        ['second', wait2.id],
      ]);
    });

    it('refuses an event for a job that does not exist or has finished, recording nothing', async () => {
      expect(await store.sendEvent('no-such-job', 'x', null, 1)).toEqual({ status: 'unknown' });
      const job = await root();
      await store.cancel(job.id, { reason: 'test', by: 'test' });
      const refused = await store.sendEvent(job.id, 'x', null, 1);
      expect(refused.status).toBe('finished');
      expect(await store.events(job.id)).toEqual([]);
    });

    it('does not deliver to a wait that a worker claimed (its timeout is being recorded): the event is kept', async () => {
      const job = await root();
      await store.claim({ workerId: 'w', tags: 'all', limit: 10, leaseMs: 60_000 }); // the root
      const { job: wait } = await store.enqueue(
        waitSpec(job.id, 'late', '@wait:late:0', { scheduledFor: undefined, delayMs: 0 }),
      );
      expect((await store.claim({ workerId: 'w', tags: 'all', limit: 10, leaseMs: 60_000 })).map((j) => j.id)).toEqual([
        wait.id,
      ]);
      expect(await store.sendEvent(job.id, 'late', 1, 2)).toEqual({ status: 'kept' });
      expect((await store.get(wait.id))!.status).toBe('running');
    });

    it('runs again a wait that timed out, for a retried parent, with its whole timeout from now', async () => {
      const { job } = await store.enqueue({
        kind: 'script',
        scriptPath: 's',
        scriptHash: 'h',
        entrypoint: 'main',
        args: {},
        maxAttempts: 2,
      });
      await store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60_000 });
      const spec = waitSpec(job.id, 'late', '@wait:late:0', { scheduledFor: undefined, delayMs: 3_600_000 });
      const { job: wait } = await store.enqueue(spec);
      await store.finish(
        wait.id,
        { status: 'failure', error: { name: 'WaitTimeoutError', code: 'WAIT_TIMEOUT', message: 'timed out' } },
        Date.now(),
      );
      // The parent failed of its own error: its retry runs its failed calls again.
      await store.retry(job.id, { name: 'Error', message: 'boom' }, Date.now(), Date.now());
      await store.claim({ workerId: 'w', tags: 'all', limit: 1, leaseMs: 60_000 });
      const before = Date.now();
      const { job: again, created } = await store.enqueue(spec);
      expect(created).toBe(true);
      expect(again).toMatchObject({ id: wait.id, status: 'queued' });
      expect(again.scheduledFor).toBeGreaterThanOrEqual(before + 3_600_000);
      expect(again.scheduledFor).toBeLessThanOrEqual(Date.now() + 3_600_000);
    });

    it('makes one signing secret and gives it back every time', async () => {
      const secret = await store.signingSecret();
      expect(secret).toMatch(/^[0-9a-f]{64}$/);
      expect(await store.signingSecret()).toBe(secret);
    });
  });
}
