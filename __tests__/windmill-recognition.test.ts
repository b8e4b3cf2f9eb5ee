import { describe, expect, it } from '@jest/globals';
import { inferSignature } from '../lib/loader/signature.js';
import { WindmillOptionError } from '../lib/errors-windmill.js';
import { scriptJobSpec } from '../lib/loader/script-job.js';
import { REPO_ROOT } from './helpers/engine.js';

/** Which scripts are Windmill workflows, their entry's args, and the task options refused (loader/windmill-workflow.ts). */
describe('Windmill workflow scripts, recognised from their source', () => {
  it("takes `export const main = workflow(…)`'s parameters as the script's args", () => {
    const sig = inferSignature(
      `import { task, workflow } from 'windmill-client';
       export const main = workflow(async (x: string, n: number = 2, tags?: string[]) => x);`,
    );
    expect(sig).toMatchObject({ hasMain: true, windmill: { optionProblems: [] } });
    expect(sig.params).toEqual([
      { name: 'x', schema: { type: 'string' }, required: true },
      { name: 'n', schema: { type: 'number', default: 2 }, required: false },
      { name: 'tags', schema: { type: 'array', items: { type: 'string' } }, required: false },
    ]);
  });

  it('takes `export default workflow(…)`, with the SDK imported under another name', () => {
    const sig = inferSignature(
      `import { workflow as wf, step } from 'windmill-client';
       export default wf(async function (who: string) { return who; });`,
    );
    expect(sig.hasMain).toBe(true);
    expect(sig.params.map((p) => p.name)).toEqual(['who']);
  });

  it('is not a workflow without an import of the SDK names; such a script without main has none', () => {
    const sig = inferSignature(`import { getVariable } from 'windmill-client';\nexport const run = () => 1;`);
    expect(sig.windmill).toBeUndefined();
    expect(sig.hasMain).toBe(false);
    const plain = inferSignature(
      `const workflow = (f: unknown) => f;\nexport const main = workflow(async (a: number) => a);`,
    );
    expect(plain.hasMain).toBe(false);
  });

  it('names each task option millrace does not support, and each retry key', () => {
    const sig = inferSignature(
      `import { task, taskScript, workflow } from 'windmill-client';
       const a = task(async (x: number) => x, { timeout: 5, retries: 3 });
       const b = task('f/b', async () => 1, { retry: { attempts: 2, jitter: 1 } });
       const c = taskScript('f/c', { tag: 't', queue: 'q' } as never);
       export const main = workflow(async () => [await a(1), await b(), await c()]);`,
    );
    expect(sig.windmill!.optionProblems).toEqual([
      expect.stringMatching(
        /^task\(…\) at line 2: option "retries" is not supported \(supported: timeout, tag, cache_ttl/,
      ),
      expect.stringMatching(
        /^task\(…\) at line 3: retry option "jitter" is not supported \(supported: attempts, delay, multiplier, max_delay\)/,
      ),
      expect.stringMatching(/^taskScript\(…\) at line 4: option "queue" is not supported/),
    ]);
  });

  it('refuses to make a job of a script with an unsupported option (WINDMILL_OPTION)', () => {
    let caught: unknown;
    try {
      scriptJobSpec(REPO_ROOT, { path: '__tests__/fixtures/windmill/bad-option', args: { n: 1 } });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WindmillOptionError);
    expect(caught).toMatchObject({
      code: 'WINDMILL_OPTION',
      problems: [expect.stringContaining('"retries"')],
    });
  });
});
