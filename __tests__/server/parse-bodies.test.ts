import { describe, expect, it } from '@jest/globals';
import { parseCancelJob } from '../../lib/server/parse-jobs.js';
import {
  isEntrypointCall,
  parseEntrypointCall,
  parseInlineCheckpoint,
  parseTaskCallCaller,
  parseTaskCalls,
  parseTaskCallScript,
} from '../../lib/server/parse-task-calls.js';
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

describe("Windmill's v1 task call and inline checkpoint", () => {
  it('tells the v1 form (no script, no batch) from millrace’s, and reads its args by name', () => {
    expect(isEntrypointCall({ args: { a: 1 } })).toBe(true);
    expect(isEntrypointCall({ script_path: 'a', script_hash: 'h', args: [1] })).toBe(false);
    expect(isEntrypointCall({ calls: [] })).toBe(false);
    expect(parseEntrypointCall({ args: { a: 1, b: [2] } })).toEqual({ args: { a: 1, b: [2] } });
    expect(badField(() => parseEntrypointCall({ args: [1] }))).toEqual({
      status: 400,
      message:
        "body.args: expected the function's args by name (a JSON object), or body.script_path and body.script_hash for millrace's form, got an array",
    });
  });

  it('reads a checkpoint as encodeCheckpointPayload writes it; null is a result, nothing is not', () => {
    const body = { key: 'k', result: { n: 1 }, started_at: '2026-12-01T10:00:00.000Z', duration_ms: 12 };
    expect(parseInlineCheckpoint(body)).toEqual(body);
    expect(parseInlineCheckpoint({ key: 'k', result: null })).toEqual({ key: 'k', result: null });
    expect(badField(() => parseInlineCheckpoint({ key: '', result: 1 })).message).toMatch(
      /^body\.key: expected a non-empty string/,
    );
    expect(badField(() => parseInlineCheckpoint({ key: 'k' })).message).toMatch(
      /^body\.result: expected the step's result/,
    );
    expect(badField(() => parseInlineCheckpoint({ key: 'k', result: 1, started_at: 'soon' })).message).toBe(
      'body.started_at: expected an ISO date and time, got string "soon"',
    );
    expect(badField(() => parseInlineCheckpoint({ key: 'k', result: 1, duration_ms: -1 })).message).toMatch(
      /^body\.duration_ms: /,
    );
  });
});

describe('parse-jobs', () => {
  it('takes no body as {}', () => {
    expect(parseCancelJob(undefined)).toEqual({});
    expect(parseCancelJob({ reason: 'r' })).toEqual({ reason: 'r' });
  });
});
