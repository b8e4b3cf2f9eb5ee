import { describe, expect, it } from '@jest/globals';
import { fromFlowFields, toFlowFields } from '../../lib/http/flow-control-wire.js';
import { parseTaskCalls } from '../../lib/server/parse-task-calls.js';
import type { FlowControl } from '../../lib/types.js';

/** Flow control on the wire: Windmill's names in a task call, each bad field a 400 naming it. */
describe('task calls with flow control', () => {
  it("parses the fields and turns them into the job's FlowControl, a key left out being the task's name", () => {
    const [call] = parseTaskCalls(
      {
        calls: [
          {
            args: [1],
            concurrency_limit: 3,
            concurrency_time_window_s: 2,
            priority: -2,
            cache_ttl: 1.5,
            rate_limit: { limit: 5, per: 1 },
          },
        ],
      },
      'task',
    );
    expect(fromFlowFields(call, 'callApi')).toEqual({
      priority: -2,
      concurrency: { key: 'callApi', limit: 3, windowMs: 2000 },
      rateLimit: { key: 'callApi', limit: 5, perMs: 1000 },
      cacheTtlMs: 1500,
    });
  });

  it('round-trips a FlowControl through the wire fields', () => {
    const flow: FlowControl = {
      priority: 7,
      concurrency: { key: 'api:x', limit: 2 },
      rateLimit: { key: 'r', limit: 10, perMs: 60_000 },
      cacheTtlMs: 3_600_000,
    };
    const [call] = parseTaskCalls({ calls: [{ args: [], ...toFlowFields(flow) }] }, 'task');
    expect(fromFlowFields(call, 'unused')).toEqual(flow);
  });

  it.each([
    [{ concurrency_limit: 0 }, 'body.calls[0].concurrency_limit: expected an integer from 1 to 1000000, got number 0'],
    [
      { concurrency_limit: 2.5 },
      'body.calls[0].concurrency_limit: expected an integer from 1 to 1000000, got number 2.5',
    ],
    [
      { concurrency_key: 'k' },
      'body.calls[0].concurrency_limit: expected a positive integer with concurrency_key or concurrency_time_window_s, got none',
    ],
    [{ cache_ttl: -1 }, 'body.calls[0].cache_ttl: expected a number from 0 to 31622400, got number -1'],
    [{ priority: 'high' }, 'body.calls[0].priority: expected an integer from -1000000 to 1000000, got string "high"'],
    [
      { rate_limit: { limit: 5 } },
      'body.calls[0].rate_limit.per: expected a number from 0.001 to 31622400, got nothing',
    ],
  ])('refuses %j', (fields, message) => {
    let caught: unknown;
    try {
      parseTaskCalls({ calls: [{ args: [], ...fields }] }, 'task');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ status: 400, code: 'BAD_REQUEST', message });
  });
});
