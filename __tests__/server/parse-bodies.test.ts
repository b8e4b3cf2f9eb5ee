import { describe, expect, it } from '@jest/globals';
import { parseCancelJob } from '../../lib/server/parse-jobs.js';
import { parseTaskCallCaller, parseTaskCalls, parseTaskCallScript } from '../../lib/server/parse-task-calls.js';
import { parseClaim, parseStep, parseWait } from '../../lib/server/parse-worker.js';

// The parse functions of server/ turn a route's JSON body into its wire.ts type, or throw the
// 400 naming the first bad field; the routes' own tests (validation, bad-input, fuzz) cover
// them over HTTP.

const badField = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return { status: (err as { status?: number }).status, message: (err as Error).message };
  }
  throw new Error('expected a 400');
};

describe('parse-worker', () => {
  it('returns a claim body typed, fields checked in order', () => {
    const body = { worker_id: 'w', hostname: 'h', tags: 'all', limit: 3, lease_ms: 1000, wait_ms: 10 };
    expect(parseClaim(body)).toEqual(body);
    expect(badField(() => parseClaim({ ...body, worker_id: 1, limit: 0 }))).toEqual({
      status: 400,
      message: 'body.worker_id: expected a non-empty string without NUL characters, got number 1',
    });
    expect(badField(() => parseClaim({ ...body, limit: 0 })).message).toMatch(/^body\.limit: /);
  });

  it('refuses a wait without ids and a step whose outcome is not a success', () => {
    expect(badField(() => parseWait({ wait_ms: 1 })).message).toMatch(/^body\.ids: /);
    const step = { parent_job: 'p', worker_id: 'w', parent_attempt: 1, outcome: { status: 'failure' } };
    expect(badField(() => parseStep(step)).message).toBe('body.outcome.status: expected success, got "failure"');
  });
});

describe('parse-task-calls', () => {
  it('reads the batched form and the single (Windmill) form into the same calls', () => {
    const batch = parseTaskCalls(
      {
        calls: [
          { args: [1], call_key: 'k:0' },
          { args: [], kind: 'sleep', scheduled_in_secs: 2 },
        ],
      },
      'task',
    );
    expect(batch).toEqual([
      { args: [1], kind: 'task', call_key: 'k:0' },
      { args: [], kind: 'sleep', scheduled_in_secs: 2 },
    ]);
    expect(parseTaskCalls({ args: [2], tag: 't' }, 'task')).toEqual([{ args: [2], kind: 'task', tag: 't' }]);
  });

  it('keeps the messages of a bad kind, bad args and a missing attempt', () => {
    expect(badField(() => parseTaskCallScript({ script_path: 'a', script_hash: 'h', kind: 'x' })).message).toBe(
      'body.kind: expected task, sleep, wait, script, flow or flowmodule, got "x"',
    );
    expect(badField(() => parseTaskCalls({ calls: [{ args: [], kind: 'flow' }] }, 'task')).message).toBe(
      'body.calls[0].kind: expected "task", "sleep" or "wait" in a batch of kind "task", got "flow"',
    );
    expect(badField(() => parseTaskCalls({ args: [] }, 'script')).message).toMatch(
      /^body\.args: expected a JSON object/,
    );
    expect(parseTaskCallCaller({})).toEqual({});
    expect(badField(() => parseTaskCallCaller({ worker_id: 'w' })).message).toMatch(/^body\.parent_attempt: /);
  });
});

describe('parse-jobs', () => {
  it('takes no body as {}', () => {
    expect(parseCancelJob(undefined)).toEqual({});
    expect(parseCancelJob({ reason: 'r' })).toEqual({ reason: 'r' });
  });
});
