import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { request } from 'undici';
import type { TreeReply } from '../../lib/http/wire.js';
import { spanIdOf } from '../../lib/tracing/ids.js';
import { openTestEngine, tempDb } from '../helpers/engine.js';
import { apiCaller, startMillrace, TEST_TOKEN, type Proc } from '../helpers/processes.js';

/** A span as the OTLP/HTTP JSON encoding carries it (ids in hex). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: number | string } }[];
  events?: { name: string }[];
}

/**
 * Traces, against `millrace dev` exporting over OTLP/HTTP as JSON (OTEL_EXPORTER_OTLP_PROTOCOL=
 * http/json) to a receiver that is a plain node:http server here, decoding what it is sent.
 * (http/protobuf, the OTLP default, goes through the proto exporter; it is not decoded here.)
 */
describe('OpenTelemetry traces', () => {
  let receiver: Server;
  const spans: OtlpSpan[] = [];
  let onSpans: (() => void) | undefined;
  let dev: Proc;
  let url: string;
  const api = apiCaller(() => url);

  /** Resolves once the receiver holds spans for which `done` holds. */
  const received = (done: (all: OtlpSpan[]) => boolean) =>
    new Promise<OtlpSpan[]>((resolve) => {
      const check = () => {
        if (!done(spans)) return;
        onSpans = undefined;
        resolve(spans);
      };
      onSpans = check;
      check();
    });
  const jobIdOf = (s: OtlpSpan) => s.attributes?.find((a) => a.key === 'millrace.job.id')?.value.stringValue;
  const finished = async (id: string) => {
    await api<string>('GET', `/api/w/default/jobs_u/logs/${id}?follow=true`);
    return api<TreeReply>('GET', `/api/w/default/jobs_u/tree/${id}`);
  };

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        expect(req.url).toBe('/v1/traces');
        expect(req.headers['content-type']).toBe('application/json');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        onSpans?.();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    dev = startMillrace(['dev', '--port', '0', '--db', tempDb()], {
      MILLRACE_TOKEN: TEST_TOKEN,
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
  });
  afterAll(async () => {
    await dev?.kill();
    receiver?.close();
  });

  it('the seed example is one trace of 5 spans, parented as its jobs, carrying id, path, tag, attempt and status', async () => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/examples/heavy', { n: 3 });
    const { job, descendants } = await finished(id);
    expect(descendants).toHaveLength(4);
    const jobs = [job, ...descendants];
    const ids = new Set(jobs.map((j) => j.id));
    const all = await received((s) => jobs.every((j) => s.some((x) => jobIdOf(x) === j.id)));
    const run = all.filter((s) => ids.has(jobIdOf(s) ?? ''));
    expect(run).toHaveLength(5);
    expect(new Set(run.map((s) => s.traceId)).size).toBe(1);
    for (const j of jobs) {
      const span = run.find((s) => jobIdOf(s) === j.id)!;
      expect(span.spanId).toBe(spanIdOf(j.id));
      expect(span.parentSpanId || undefined).toBe(j.parentJob ? spanIdOf(j.parentJob) : undefined);
      const attrs = Object.fromEntries(
        span.attributes!.map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue)]),
      );
      expect(attrs).toMatchObject({
        'millrace.job.path': j.path,
        'millrace.job.tag': j.tag,
        'millrace.job.attempt': 1,
        'millrace.job.status': 'success',
      });
    }
    expect(run.filter((s) => s.name === 'heavyCompute').map((s) => s.parentSpanId)).toEqual([
      spanIdOf(id),
      spanIdOf(id),
      spanIdOf(id),
    ]);
  });

  it('a retried job has one span, with an event per failed attempt, and a failed one has status ERROR', async () => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/retries', { which: 'all' });
    const { descendants } = await finished(id);
    const third = descendants.find((j) => j.entrypoint === 'thirdTime')!;
    const always = descendants.find((j) => j.entrypoint === 'alwaysFails')!;
    const all = await received((s) => [third.id, always.id, id].every((j) => s.some((x) => jobIdOf(x) === j)));
    const thirdSpans = all.filter((s) => jobIdOf(s) === third.id);
    expect(thirdSpans).toHaveLength(1);
    expect(thirdSpans[0].events!.map((e) => e.name)).toEqual(['retry', 'retry']);
    const alwaysSpan = all.find((s) => jobIdOf(s) === always.id)! as OtlpSpan & { status?: { code?: number } };
    expect(alwaysSpan.status?.code).toBe(2); // STATUS_CODE_ERROR
    expect(alwaysSpan.parentSpanId).toBe(spanIdOf(id));
  });

  it("a span made in a task's code is a child of the task's job span", async () => {
    const id = await api<string>('POST', '/api/w/default/jobs/run/p/__tests__/fixtures/traced', {});
    const { job, descendants } = await finished(id);
    const task = descendants[0];
    expect(task.entrypoint).toBe('work');
    const all = await received(
      (s) => s.some((x) => x.name === 'inside the task' && x.spanId === job.result) && s.some((x) => jobIdOf(x) === id),
    );
    const inner = all.find((s) => s.name === 'inside the task' && s.spanId === job.result)!;
    const root = all.find((s) => jobIdOf(s) === id)!;
    expect(inner.parentSpanId).toBe(spanIdOf(task.id));
    expect(inner.traceId).toBe(root.traceId);
  });

  it('a run submitted with a traceparent joins the caller’s trace; a bad one is a 400', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await request(`${url}/api/w/default/jobs/run/p/__tests__/fixtures/traced`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        'content-type': 'application/json',
        traceparent: `00-${traceId}-${callerSpan}-01`,
      },
      body: '{}',
    });
    expect(res.statusCode).toBe(201);
    const id = await res.body.text();
    const { job, descendants } = await finished(id);
    const all = await received(
      (s) => s.some((x) => x.name === 'inside the task' && x.spanId === job.result) && s.some((x) => jobIdOf(x) === id),
    );
    const root = all.find((s) => jobIdOf(s) === id)!;
    expect(root).toMatchObject({ traceId, parentSpanId: callerSpan });
    expect(all.find((s) => jobIdOf(s) === descendants[0].id)).toMatchObject({ traceId, parentSpanId: spanIdOf(id) });
    expect(all.find((s) => s.name === 'inside the task' && s.spanId === job.result)).toMatchObject({
      traceId,
      parentSpanId: spanIdOf(descendants[0].id),
    });

    const bad = await request(`${url}/api/w/default/jobs/run/p/__tests__/fixtures/traced`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TEST_TOKEN}`,
        'content-type': 'application/json',
        traceparent: 'not-a-trace',
      },
      body: '{}',
    });
    expect(bad.statusCode).toBe(400);
    expect(await bad.body.json()).toEqual({
      error: { code: 'BAD_TRACEPARENT', message: expect.stringContaining('traceparent: expected 00-<32 hex digits') },
    });
  });

  it('the embedded engine (millrace run) traces its runs too', async () => {
    const saved = { ...process.env };
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    const engine = openTestEngine({ threads: 1 });
    try {
      const job = await engine.submit({ path: 'examples/heavy', args: { n: 2 } });
      expect((await engine.wait(job.id)).status).toBe('success');
      const jobs = [job, ...(await engine.descendants(job.id))];
      expect(jobs).toHaveLength(4);
      const all = await received((s) => jobs.every((j) => s.some((x) => jobIdOf(x) === j.id)));
      for (const j of jobs) {
        expect(all.find((s) => jobIdOf(s) === j.id)!.parentSpanId || undefined).toBe(
          j.parentJob ? spanIdOf(j.parentJob) : undefined,
        );
      }
    } finally {
      await engine.close();
      process.env = saved;
    }
  });
});
