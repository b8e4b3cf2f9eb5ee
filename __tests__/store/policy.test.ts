import { describe, expect, it } from '@jest/globals';
import {
  attemptsAllowed,
  canceledError,
  leaseLimitError,
  leaseLostError,
  listQuery,
  PlaceCache,
  replays,
  runsAgain,
} from '../../lib/store/policy.js';

/** The rules both stores apply alike (their SQL is proved by the conformance suite). */
describe('store policy', () => {
  it('replays only after an attempt lost with its worker or its thread', () => {
    expect(replays('LEASE_EXPIRED')).toBe(true);
    expect(replays('RELEASED')).toBe(true);
    expect(replays('TIMEOUT')).toBe(false);
    expect(replays(null)).toBe(false);
    expect(replays(undefined)).toBe(false);
  });

  it('runs a recorded call again only when it failed or was canceled and the parent retries', () => {
    expect(runsAgain({ status: 'failure' }, false)).toBe(true);
    expect(runsAgain({ status: 'canceled' }, false)).toBe(true);
    expect(runsAgain({ status: 'failure' }, true)).toBe(false);
    expect(runsAgain({ status: 'success' }, false)).toBe(false);
    expect(runsAgain({ status: 'running' }, false)).toBe(false);
  });

  it('allows maxAttempts, else the retry policy, else one attempt', () => {
    expect(attemptsAllowed({ maxAttempts: 4, retry: { attempts: 2 } })).toBe(4);
    expect(attemptsAllowed({ retry: { attempts: 2 } })).toBe(2);
    expect(attemptsAllowed({})).toBe(1);
  });

  it('words the lease and cancel errors with stable codes', () => {
    const lost = leaseLostError({ worker: 'w1', attempt: 2 });
    expect(lost).toEqual({
      name: 'LeaseExpiredError',
      code: 'LEASE_EXPIRED',
      message: 'Worker w1 stopped renewing its lease on attempt 2 (it died or lost contact)',
    });
    expect(leaseLimitError(lost, 3).message).toBe(
      `${lost.message}. Its workers were lost 3 times, the most allowed, so the job failed.`,
    );
    expect(canceledError('by user')).toEqual({ name: 'CanceledError', message: 'by user', code: 'CANCELED' });
  });

  it('turns a list filter into terms in a fixed order, empty fields left out, 50 newest first by default', () => {
    expect(listQuery({})).toEqual({ terms: [], limit: 50, offset: 0, order: 'DESC' });
    expect(listQuery({ offset: 20, order: 'oldest' })).toEqual({ terms: [], limit: 50, offset: 20, order: 'ASC' });
    expect(listQuery({ status: [], tag: '', rootsOnly: true, before: 0, limit: 5, ids: ['a'] })).toEqual({
      terms: [
        { op: 'in', column: 'id', values: ['a'] },
        { op: 'isNull', column: 'parent_job' },
        { op: 'lt', column: 'created_at', value: 0 },
      ],
      limit: 5,
      offset: 0,
      order: 'DESC',
    });
  });

  it('keeps places with their names, and forgets them', () => {
    const places = new PlaceCache();
    const place = places.remember('b', {
      path: 'a/b',
      kind: 'task',
      entrypoint: 'compute',
      script_path: 'examples/heavy',
    });
    expect(places.get('b')).toBe(place);
    expect(place).toEqual({ path: 'a/b', name: 'compute' });
    places.forget('b');
    expect(places.get('b')).toBeUndefined();
  });
});
