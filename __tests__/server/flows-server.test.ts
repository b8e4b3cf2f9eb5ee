import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import wmillDefault, * as wmill from 'windmill-client';
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
} from '../../lib/helpers/helpers.js';
import type { ConnectionHandle } from '../../lib/helpers/helpers.js';
import { HttpEngine } from '../../lib/engine/http-engine.js';
import type { FlowStatus } from '../../lib/flow/types.js';
import { startMillrace, startServerProcess, startWorkerProcess, TEST_TOKEN, type Proc } from '../helpers/processes.js';

const ITEMS = [
  { sku: 'a', qty: 2, price: 30 },
  { sku: 'b', qty: 1, price: 50 },
  { sku: 'c', qty: 4, price: 5 },
];

/** Flows and the helpers through a real server process and a remote worker process. */
describe('flows through a millrace server', () => {
  let server: { proc: Proc; url: string };
  let worker: { proc: Proc; id: string };
  let client: ConnectionHandle;
  let engine: HttpEngine;
  const getJob = (id: string) =>
    wmill.JobService.getJob({ workspace: 'default', id }) as Promise<{
      flow_status?: FlowStatus;
      job_kind: string;
      success?: boolean;
    }>;

  beforeAll(async () => {
    server = await startServerProcess();
    worker = await startWorkerProcess(server.url, ['--concurrency', '4']);
    process.env.WM_WORKSPACE = 'default';
    wmill.setClient(TEST_TOKEN, server.url);
    client = configure({ server: server.url, token: TEST_TOKEN });
    engine = new HttpEngine({ server: server.url, token: TEST_TOKEN });
  });
  afterAll(async () => {
    await engine?.close();
    await client?.close();
    await worker?.proc.kill();
    await server?.proc.kill();
  });

  it('windmill-client runFlow runs a flow and returns its result; the job shows its flow_status', async () => {
    expect(await wmill.runFlow('examples/flows/orders', { items: ITEMS })).toBe('review 130');
    const id = await wmill.runFlowAsync('examples/flows/orders', { items: [{ sku: 'x', qty: 1, price: 7 }] });
    expect(await wmill.waitJob(id)).toBe(7);
    const job = await getJob(id);
    expect(job.job_kind).toBe('flow');
    expect(job.flow_status!.modules.map((m) => [m.id, m.type])).toEqual([
      ['price', 'Success'],
      ['total', 'Success'],
      ['route', 'Success'],
    ]);
    expect(job.flow_status!.modules[2].branch_chosen).toEqual({ type: 'default' });
    expect(job.flow_status!.modules[0].iterations).toHaveLength(1);
  });

  it('runs loop iterations in parallel on the remote worker (their recorded times overlap)', async () => {
    const id = await wmill.runFlowAsync('examples/flows/orders', { items: ITEMS });
    await wmill.waitJob(id);
    const children = (await wmill.JobService.listJobs({ workspace: 'default', parentJob: id })) as {
      id: string;
      job_kind: string;
    }[];
    const lines: { start: number; end: number }[] = [];
    for (const c of children) {
      const job = (await wmill.JobService.getJob({ workspace: 'default', id: c.id })) as unknown as {
        job_kind: string;
        started_at: string;
        duration_ms: number;
        millrace: { entrypoint: string };
      };
      expect(job.job_kind).toBe('flowscript');
      if (job.millrace.entrypoint === 'line')
        lines.push({ start: Date.parse(job.started_at), end: Date.parse(job.started_at) + job.duration_ms });
    }
    expect(lines).toHaveLength(3);
    const overlapping = lines.some((a, i) => lines.slice(i + 1).some((b) => a.start < b.end && b.start < a.end));
    expect(overlapping).toBe(true);
  });

  it('every module type, both transforms and each module option, through run_wait_result/f', async () => {
    const res = await fetch(`${server.url}/api/w/default/jobs/run_wait_result/f/__tests__/fixtures/flows/options`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ n: 3, stop: true }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      0.25,
      { error: { name: 'Error', message: 'cannot invert item 1', step_id: 'invert' } },
      0.5,
    ]);
    const [root] = await engine.list({ scriptPath: '__tests__/fixtures/flows/options', limit: 1 });
    const steps = await engine.descendants(root.id);
    const step = (name: string) => steps.filter((s) => s.entrypoint === name);
    expect(step('start')[0]).toMatchObject({
      args: { label: 'start', value: 6 },
      result: { label: 'start', value: 6 },
    });
    expect(step('skipped')).toHaveLength(0);
    expect(step('flaky_constant')[0]).toMatchObject({ status: 'success', attempt: 3, result: 3 });
    expect(step('flaky_exponential')[0]).toMatchObject({ status: 'success', attempt: 2, result: 2 });
    expect(step('broken')[0].status).toBe('failure');
    expect(step('invert').map((s) => s.args)).toEqual([
      { x: 4, index: 0 },
      { x: 0, index: 1 },
      { x: 2, index: 2 },
    ]);
    const status = (await engine.flowStatus(root.id)) as unknown as FlowStatus;
    expect(status.modules.map((m) => [m.id, m.type, m.skipped ?? false])).toEqual([
      ['start', 'Success', false],
      ['skipped', 'Success', true],
      ['flaky_constant', 'Success', false],
      ['flaky_exponential', 'Success', false],
      ['all', 'Success', false],
      ['each', 'Success', false],
      ['stopper', 'Success', false],
      ['slow', 'WaitingForPriorSteps', false],
    ]);
    const failed = await fetch(`${server.url}/api/w/default/jobs/run_wait_result/f/__tests__/fixtures/flows/options`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ n: 3, stop: false }),
    });
    expect(failed.status).toBe(422);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toMatch(
      /^Module "slow" \(job \S+\) failed: TimeoutError: Job \S+ \(slow\) ran past its timeout of 1s on attempt 1 of 1$/,
    );
    const [timedOut] = await engine.list({ scriptPath: '__tests__/fixtures/flows/options', limit: 1 });
    expect((await engine.descendants(timedOut.id)).find((s) => s.entrypoint === 'slow')).toMatchObject({
      status: 'failure',
      error: { name: 'TimeoutError' },
    });
  });

  it('the failure module gets the failing step’s id on the remote worker', async () => {
    const id = await wmill.runFlowAsync('examples/flows/orders', { items: ITEMS, fail_on: 'c' });
    await expect(wmill.waitJob(id)).rejects.toThrow(
      /Module \\"line\\".*no price for c.*The failure module \\"on_failure\\" ran and returned/,
    );
    const status = (await getJob(id)).flow_status!;
    expect(status.failure_module).toMatchObject({ id: 'on_failure', type: 'Success' });
    expect(await getResult(status.failure_module!.job!)).toEqual({ step_id: 'line', message: 'no price for c' });
  });

  it('refuses a bad flow or bad args on submission, with the problems', async () => {
    const res = await fetch(`${server.url}/api/w/default/jobs/run/f/examples/flows/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: 3 }),
    });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/items: expected an array/);
    const bad = await fetch(`${server.url}/api/w/default/jobs/run/f/__tests__/fixtures/flows/invalid`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(bad.status).toBe(422);
    const { error } = (await bad.json()) as { error: { code: string; problems: string[] } };
    expect(error.code).toBe('FLOW_INVALID');
    expect(error.problems).toEqual([
      'value.modules[0] (id "a").value.type: unknown module type string "teleport"; supported: script, rawscript, identity, forloopflow, branchone, branchall',
      'value.modules[1] (id "a"): duplicate id "a": value.modules[0] has it too; module ids must be unique in a flow',
    ]);
    const missing = await fetch(`${server.url}/api/w/default/jobs/run/f/no/such/flow`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(missing.status).toBe(404);
  });

  it('the helpers outside a job use the configured server through Windmill’s routes', async () => {
    expect(await runScript('__tests__/fixtures/flows/echo', { label: 'x', value: 2 })).toEqual({
      label: 'x',
      value: 2,
    });
    expect(await runFlow('examples/flows/orders', { items: [{ sku: 'x', qty: 3, price: 3 }] })).toBe(9);
    const id = await runScriptAsync('__tests__/fixtures/slow', { count: 1000, ms: 50 });
    expect(['queued', 'running']).toContain(await getJobStatus(id));
    await cancelJob(id, 'enough');
    await expect(waitJob(id)).rejects.toThrow(/canceled: enough/);
    expect(await getJobStatus(id)).toBe('canceled');
    const flowId = await runFlowAsync('examples/flows/orders', { items: ITEMS });
    expect(await waitJob(flowId)).toBe('review 130');
    expect(await getJobStatus(flowId)).toBe('success');
    // An idempotency key goes as Windmill's query parameter: the second submission is the first job.
    const key = `flow-${flowId}`;
    const once = await runFlowAsync('examples/flows/orders', { items: ITEMS }, { idempotencyKey: key });
    expect(await runFlowAsync('examples/flows/orders', { items: ITEMS }, { idempotencyKey: key })).toBe(once);
    expect(await waitJob(once)).toBe('review 130');
  });

  it('runScript and runFlow inside a job on a remote worker make children of the job', async () => {
    expect(await runScript('examples/run-other', {})).toEqual({ subtotal: 100, routed: 'review 100' });
    expect(
      await (wmillDefault as unknown as { runScriptByPath(p: string, a: object): Promise<unknown> }).runScriptByPath(
        '__tests__/fixtures/flows/calls',
        { n: 2 },
      ),
    ).toMatchObject({
      echoed: 2,
      status: 'success',
    });
  });

  it('millrace run x.flow.yaml --k v with --server', async () => {
    const run = startMillrace([
      'run',
      '--server',
      server.url,
      '--token',
      TEST_TOKEN,
      'examples/flows/orders.flow.yaml',
      '--items',
      JSON.stringify(ITEMS),
    ]);
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/"review 130"/);
    expect(run.output()).toMatch(/\[line \w+\] priced a/);
  });
});
