import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO_ROOT, tempDb } from '../helpers/engine.js';
import { runToEnd } from '../helpers/processes.js';

// An OTLP endpoint with no collector behind it: threads load OpenTelemetry as they boot.
const env = {
  ...process.env,
  NO_COLOR: '1',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
};

describe('executor threads with tracing on', () => {
  /**
   * A job sent to a thread that has not started yet reaches it while it loads OpenTelemetry
   * (many turns of its event loop), and runs once it has booted. It used to fail with "Cannot
   * access 'require' before initialization" (most runs of this test did, before the fix).
   */
  it('run a job sent while they boot once they have booted', async () => {
    const run = await runToEnd(process.execPath, [join(REPO_ROOT, '__tests__/fixtures/boot-race.mjs'), REPO_ROOT], {
      cwd: REPO_ROOT,
      env,
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual({ status: 'success', result: 'X' });
  });

  it('do not fail a run when the collector cannot be reached: it is said on stderr', async () => {
    const run = await runToEnd(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/millrace.js'),
        'run',
        '--db',
        tempDb(),
        '--threads',
        '1',
        '__tests__/fixtures/say.ts',
        '--word',
        'x',
      ],
      { cwd: REPO_ROOT, env },
    );
    expect(run.stderr).toContain('millrace: could not export the last spans: connect ECONNREFUSED');
    expect(run.stdout.trim()).toBe('"X"');
    expect(run.code).toBe(0);
  });
});
