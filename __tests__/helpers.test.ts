import { afterAll, describe, expect, it } from '@jest/globals';
import {
  cancelJob,
  configure,
  getJobStatus,
  getResult,
  runFlow,
  runFlowAsync,
  runScript,
  runScriptAsync,
  waitJob,
} from '../lib/helpers/helpers.js';
import { TaskError } from '../lib/errors.js';
import { REPO_ROOT, tempDb } from './helpers/engine.js';

/** The helpers outside a job, on the embedded engine (the default). */
describe('runScript / runFlow outside a job, embedded', () => {
  const client = configure({ root: REPO_ROOT, db: tempDb() });
  afterAll(() => client.close());

  it('runScript and runFlow resolve with results; the async variants with ids', async () => {
    expect(await runScript('__tests__/fixtures/flows/echo', { label: 'a', value: 1 })).toEqual({
      label: 'a',
      value: 1,
    });
    expect(await runFlow('examples/flows/orders', { items: [{ sku: 'x', qty: 2, price: 4 }] })).toBe(8);
    const id = await runFlowAsync('examples/flows/orders', { items: [{ sku: 'x', qty: 30, price: 4 }] });
    expect(id).toMatch(/^[0-9a-z]{20}$/);
    expect(await waitJob(id)).toBe('review 120');
    expect(await getResult(id)).toBe('review 120');
    expect(await getJobStatus(id)).toBe('success');
  });

  it('a failed run rejects with a TaskError; getJobStatus says failure', async () => {
    const id = await runScriptAsync('__tests__/fixtures/failing', { catchIt: false });
    const err = await waitJob(id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).jobId).toBe(id);
    expect(await getJobStatus(id)).toBe('failure');
  });

  it('cancelJob cancels a running job; getResult of an unfinished job says so', async () => {
    const id = await runScriptAsync('__tests__/fixtures/slow', { count: 1000, ms: 50 });
    await expect(getResult(id)).rejects.toThrow(/has not finished yet/);
    await cancelJob(id, 'enough');
    await expect(waitJob(id)).rejects.toThrow(/was canceled: enough/);
    expect(await getJobStatus(id)).toBe('canceled');
  });

  it('submits at most once with an idempotency key', async () => {
    const key = `order-${Date.now()}`;
    const first = await runScriptAsync(
      '__tests__/fixtures/flows/echo',
      { label: 'once', value: 1 },
      { idempotencyKey: key },
    );
    const again = await runScriptAsync(
      '__tests__/fixtures/flows/echo',
      { label: 'once', value: 1 },
      { idempotencyKey: key },
    );
    expect(again).toBe(first);
    const other = await runScriptAsync(
      '__tests__/fixtures/flows/echo',
      { label: 'once', value: 1 },
      { idempotencyKey: `${key}-b` },
    );
    expect(other).not.toBe(first);
    expect(await waitJob(first)).toEqual({ label: 'once', value: 1 });
  });

  it('refuses bad input with a clear error', async () => {
    await expect(runScript('__tests__/fixtures/flows/echo', { label: 1 })).rejects.toThrow(
      /Bad args for __tests__\/fixtures\/flows\/echo: label: expected a string/,
    );
    await expect(runScriptAsync('__tests__/fixtures/flows/echo', {}, { idempotencyKey: '' })).rejects.toThrow(
      /options.idempotencyKey must be a string of 1 to 255 characters, got 0 characters/,
    );
    await expect(runFlow('no/such/flow')).rejects.toThrow(/Unknown flow "no\/such\/flow"/);
  });
});
