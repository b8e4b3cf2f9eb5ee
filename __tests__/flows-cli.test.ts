import { describe, expect, it } from '@jest/globals';
import { startMillrace } from './helpers/processes.js';
import { tempDb } from './helpers/engine.js';

describe('millrace run and show with a flow (embedded)', () => {
  it('runs a flow file with --k v args, then draws it with its flow status', async () => {
    const db = tempDb();
    const run = startMillrace([
      'run',
      '--db',
      db,
      'examples/flows/orders.flow.yaml',
      '--items',
      '[{"sku":"a","qty":1,"price":150}]',
    ]);
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('"review 150"');
    const [, id] = run.output().match(/job (\w+)\s+examples\/flows\/orders/)!;
    const show = startMillrace(['show', '--db', db, id]);
    expect(await show.exited).toBe(0);
    const out = show.output();
    expect(out).toContain('flow status:');
    expect(out).toMatch(/price \(forloopflow\) Success .*1 iterations/);
    expect(out).toMatch(/route \(branchone\) Success .*branch 0/);
    expect(out).toMatch(/review \(rawscript\) Success/);
  });

  it('refuses bad args for the flow’s schema with exit code 2', async () => {
    const run = startMillrace(['run', '--db', tempDb(), 'examples/flows/orders.flow.yaml', '--items', 'nope']);
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(
      /error: Bad args for examples\/flows\/orders: --items: expected an array of objects as JSON, got "nope"/,
    );
  });
});
