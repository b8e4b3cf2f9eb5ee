import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { tempDb } from '../helpers/engine.js';
import { startMillrace, TEST_TOKEN } from '../helpers/processes.js';

/**
 * OpenTelemetry is loaded only when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set: a resolve hook,
 * registered with --import in `millrace dev` (and so in its executor threads), writes down every
 * @opentelemetry module asked for.
 */
describe('OpenTelemetry is loaded only when an OTLP endpoint is set', () => {
  const dir = mkdtempSync(join(tmpdir(), 'millrace-lazy-otel-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.includes('@opentelemetry/')) appendFileSync(process.env.OTEL_SEEN_FILE, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);

  async function devLoads(env: Record<string, string>): Promise<string> {
    const seen = join(dir, `seen-${Object.keys(env).length}.txt`);
    const dev = startMillrace(['dev', '--port', '0', '--db', tempDb(), '--threads', '1'], {
      MILLRACE_TOKEN: TEST_TOKEN,
      OTEL_SEEN_FILE: seen,
      NODE_OPTIONS: `--import ${register}`,
      ...env,
    });
    try {
      const [, url] = await dev.waitFor(/millrace dev on (http:\/\/127\.0\.0\.1:\d+)/);
      // A job runs, so an executor thread boots and runs code.
      const res = await fetch(`${url}/api/w/default/jobs/run_wait_result/p/__tests__/fixtures/say`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        body: '{"word":"x"}',
      });
      expect(await res.json()).toBe('X');
    } finally {
      await dev.kill();
    }
    return existsSync(seen) ? readFileSync(seen, 'utf8') : '';
  }

  it('without an endpoint nothing of it is resolved; with one, the SDK and the exporter are', async () => {
    expect(await devLoads({ OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' })).toBe('');
    const loaded = await devLoads({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    expect(loaded).toContain('@opentelemetry/sdk-trace-node');
    expect(loaded).toContain('@opentelemetry/exporter-trace-otlp-http');
  });
});
