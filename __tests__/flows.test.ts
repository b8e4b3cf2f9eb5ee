import { afterEach, describe, expect, it } from '@jest/globals';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import type { FlowStatus } from '../lib/flow/types.js';
import { openTestEngine, overlap, runToEnd } from './helpers/engine.js';

let engine: EmbeddedEngine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

const ITEMS = [
  { sku: 'a', qty: 2, price: 30 },
  { sku: 'b', qty: 1, price: 50 },
  { sku: 'c', qty: 4, price: 5 },
];

describe('flows on the embedded engine', () => {
  it('runs a loop in parallel, a script, a branch; each module is a flowmodule child of the flow job', async () => {
    engine = openTestEngine({ threads: 2, concurrency: 4 });
    const { root, descendants } = await runToEnd(engine, 'examples/flows/orders.flow.yaml', { items: ITEMS });
    expect(root.kind).toBe('flow');
    expect(root.status).toBe('success');
    expect(root.result).toBe('review 130');
    expect(descendants.every((j) => j.kind === 'flowmodule' && j.parentJob === root.id && j.rootJob === root.id)).toBe(
      true,
    );
    expect(descendants.map((j) => j.entrypoint).sort()).toEqual(['line', 'line', 'line', 'review', 'total']);
    // The loop's iterations ran at the same time: their recorded intervals overlap.
    const lines = descendants.filter((j) => j.entrypoint === 'line');
    const pairs = lines.flatMap((a, i) => lines.slice(i + 1).map((b) => [a, b] as const));
    expect(pairs.some(([a, b]) => overlap(a, b))).toBe(true);
    // The steps' log lines reach the flow job's log, marked with the step.
    const log = [];
    for await (const l of engine.logs(root.id)) log.push(l);
    expect(
      log
        .filter((l) => l.source?.name === 'line')
        .map((l) => l.line)
        .sort(),
    ).toEqual(['priced a', 'priced b', 'priced c']);
    expect(log.find((l) => l.source?.name === 'total')?.line).toBe('adding 3 values');

    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    expect(status.modules.map((m) => [m.id, m.type])).toEqual([
      ['price', 'Success'],
      ['total', 'Success'],
      ['route', 'Success'],
    ]);
    const [price, total, route] = status.modules;
    expect(price.iterations!.map((it) => [it.index, it.type])).toEqual([
      [0, 'Success'],
      [1, 'Success'],
      [2, 'Success'],
    ]);
    const iterationJobs = price.iterations!.map((it) => it.modules[0].job);
    expect(new Set(iterationJobs)).toEqual(new Set(lines.map((j) => j.id)));
    expect(total.job).toBe(descendants.find((j) => j.entrypoint === 'total')!.id);
    expect(route.branch_chosen).toEqual({ type: 'branch', branch: 0 });
    expect(status.failure_module).toMatchObject({ id: 'on_failure', type: 'WaitingForPriorSteps' });
  });

  it('takes the default branch (an identity step) when no branch expression holds', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, 'examples/flows/orders.flow.yaml', {
      items: [{ sku: 'x', qty: 1, price: 7 }],
    });
    expect(root.status).toBe('success');
    expect(root.result).toBe(7);
    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    expect(status.modules[2].branch_chosen).toEqual({ type: 'default' });
    expect(status.modules[2].branches![0].modules[0]).toMatchObject({
      id: 'accept',
      type: 'Success',
      module_type: 'identity',
    });
    expect(descendants.find((j) => j.entrypoint === 'accept')).toMatchObject({
      kind: 'flowmodule',
      status: 'success',
      result: 7,
    });
  });

  it('gives the failure module the failing step’s id and error; the flow fails', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, 'examples/flows/orders', { items: ITEMS, fail_on: 'b' });
    expect(root.status).toBe('failure');
    expect(root.error).toMatchObject({ name: 'FlowModuleError', code: 'FLOW_MODULE_FAILED' });
    expect(root.error!.message).toMatch(
      /^Module "line" \(job \w+\) failed: Error: no price for b\. The failure module "on_failure" ran/,
    );
    const handler = descendants.find((j) => j.entrypoint === 'on_failure')!;
    expect(handler.status).toBe('success');
    expect(handler.args).toEqual({ message: 'no price for b', step_id: 'line' });
    expect(handler.result).toEqual({ step_id: 'line', message: 'no price for b' });
    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    expect(status.modules.map((m) => m.type)).toEqual(['Failure', 'WaitingForPriorSteps', 'WaitingForPriorSteps']);
    expect(status.failure_module).toMatchObject({ id: 'on_failure', type: 'Success', job: handler.id });
  });

  it('applies static and javascript transforms, skip_if, retry (constant and exponential), branchall with skip_failure, a loop with skip_failures, stop_after_if', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/flows/options.flow.yaml', {
      n: 3,
      stop: true,
    });
    expect(root.status).toBe('success');
    const each = [0.25, { error: { name: 'Error', message: 'cannot invert item 1', step_id: 'invert' } }, 0.5];
    // stop_after_if held at "stopper": its result (the loop's, through an identity step) is the flow's.
    expect(root.result).toEqual(each);
    const byName = (name: string) => descendants.filter((j) => j.entrypoint === name);
    expect(byName('start')[0].args).toEqual({ label: 'start', value: 6 });
    expect(byName('start')[0].result).toEqual({ label: 'start', value: 6 });
    expect(byName('skipped')).toHaveLength(0);
    expect(byName('flaky_constant')[0]).toMatchObject({ status: 'success', attempt: 3, maxAttempts: 3, result: 3 });
    expect(byName('flaky_exponential')[0]).toMatchObject({ status: 'success', attempt: 2, maxAttempts: 2, result: 2 });
    expect(byName('left')[0].result).toBe(2);
    expect(byName('broken')[0].status).toBe('failure');
    expect(byName('invert').map((j) => j.args)).toEqual([
      { x: 4, index: 0 },
      { x: 0, index: 1 },
      { x: 2, index: 2 },
    ]);
    expect(byName('slow')).toHaveLength(0);

    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    const m = Object.fromEntries(status.modules.map((s) => [s.id, s]));
    expect(m.skipped).toMatchObject({ type: 'Success', skipped: true });
    expect(m.all.branches!.map((b) => [b.type, b.failure_skipped ?? false])).toEqual([
      ['Success', false],
      ['Failure', true],
    ]);
    expect(m.each.iterations!.map((it) => it.type)).toEqual(['Success', 'Failure', 'Success']);
    // A sequential loop: each iteration starts after the previous one has completed.
    const [i0, i1, i2] = m.each.iterations!;
    expect(i1.started_at!).toBeGreaterThanOrEqual(i0.completed_at!);
    expect(i2.started_at!).toBeGreaterThanOrEqual(i1.completed_at!);
    expect(m.stopper.type).toBe('Success');
    expect(m.slow.type).toBe('WaitingForPriorSteps');
  });

  it('fails a step that runs past its timeout, naming the step', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/flows/options', { n: 3, stop: false });
    expect(root.status).toBe('failure');
    expect(root.error!.message).toMatch(
      /^Module "slow" \(job \S+\) failed: TimeoutError: Job \S+ \(slow\) ran past its timeout of 1s on attempt 1 of 1$/,
    );
    // The step's job is stopped by its worker, not left to run on.
    const slow = descendants.find((j) => j.entrypoint === 'slow')!;
    expect(slow).toMatchObject({ status: 'failure', timeout: 1, error: { name: 'TimeoutError' } });
    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    expect(status.modules.find((s) => s.id === 'slow')).toMatchObject({
      type: 'Failure',
      error: { name: 'TimeoutError' },
    });
  });

  it('fails with an error naming the module and the expression when an expression throws', async () => {
    engine = openTestEngine();
    const { root } = await runToEnd(engine, '__tests__/fixtures/flows/bad-expression.flow.json', { items: [{ a: 1 }] });
    expect(root.status).toBe('failure');
    expect(root.error!.message).toContain(
      'Module "loop": iterator expression "flow_input.items.map((x) => x.missing.deeper)" failed: TypeError: Cannot read properties of undefined',
    );
  });

  it('checks args against the flow’s schema on submission, before any job exists', async () => {
    engine = openTestEngine();
    await expect(engine.submit({ path: 'examples/flows/orders.flow.yaml', args: { items: 'nope' } })).rejects.toThrow(
      /Bad args for flow examples\/flows\/orders: items: expected an array/,
    );
    await expect(engine.submit({ path: 'examples/flows/orders.flow.yaml', args: {} })).rejects.toThrow(
      /items is required/,
    );
    expect(await engine.list({})).toHaveLength(0);
  });

  it('runScript, runFlowAsync and waitJob inside a job make children of the calling job', async () => {
    engine = openTestEngine();
    const { root, descendants } = await runToEnd(engine, '__tests__/fixtures/flows/calls', { n: 1 });
    expect(root.status).toBe('success');
    expect(root.result).toMatchObject({ echoed: 1, status: 'success' });
    const result = root.result as { flowResult: unknown; again: unknown };
    expect(result.again).toEqual(result.flowResult);
    const children = descendants.filter((j) => j.parentJob === root.id);
    expect(children.map((j) => [j.kind, j.scriptPath]).sort()).toEqual([
      ['flow', '__tests__/fixtures/flows/options'],
      ['script', '__tests__/fixtures/flows/echo'],
    ]);
    expect(children.map((j) => j.callKey).sort()).toEqual([
      '@flow:__tests__/fixtures/flows/options:0',
      '@script:__tests__/fixtures/flows/echo:0',
    ]);
    const flowJob = children.find((j) => j.kind === 'flow')!;
    expect(descendants.filter((j) => j.parentJob === flowJob.id).every((j) => j.kind === 'flowmodule')).toBe(true);
    const log = [];
    for await (const l of engine.logs(root.id)) log.push(l);
    expect(log.some((l) => l.line === 'inner: 1' && l.source?.name === '__tests__/fixtures/flows/echo')).toBe(true);
    expect(log.some((l) => l.line === 'start: 2' && l.source?.name === 'start')).toBe(true);
  });

  it('runs the example that calls runScript and runFlow and uses both results', async () => {
    engine = openTestEngine({ concurrency: 4 });
    const { root, descendants } = await runToEnd(engine, 'examples/run-other', {});
    expect(root.status).toBe('success');
    expect(root.result).toEqual({ subtotal: 100, routed: 'review 100' });
    expect(
      descendants
        .filter((j) => j.parentJob === root.id)
        .map((j) => j.kind)
        .sort(),
    ).toEqual(['flow', 'script']);
  });
});
