import { describe, expect, it } from '@jest/globals';
import { checkArgs, parseCliArgs, positionalArgs } from '../lib/loader/args.js';
import { inferSignature } from '../lib/loader/signature.js';

describe("inferring main's signature", () => {
  it('reads names, types, optional params and defaults', () => {
    const sig = inferSignature(`
      type Mode = 'fast' | 'slow';
      interface Opts { depth: number; label?: string }
      export async function main(n: number, name: string, flag: boolean, mode: Mode, tags: string[],
                                 opts: Opts, when: Date, maybe?: number, count = 3, anything?: unknown) {}
    `);
    expect(sig.hasMain).toBe(true);
    expect(sig.params.map((p) => [p.name, p.required])).toEqual([
      ['n', true],
      ['name', true],
      ['flag', true],
      ['mode', true],
      ['tags', true],
      ['opts', true],
      ['when', true],
      ['maybe', false],
      ['count', false],
      ['anything', false],
    ]);
    const props = sig.schema.properties!;
    expect(props.n).toEqual({ type: 'number' });
    expect(props.mode).toEqual({ type: 'string', enum: ['fast', 'slow'] });
    expect(props.tags).toEqual({ type: 'array', items: { type: 'string' } });
    expect(props.opts).toEqual({
      type: 'object',
      properties: { depth: { type: 'number' }, label: { type: 'string' } },
      required: ['depth'],
    });
    expect(props.when).toEqual({ type: 'string', format: 'date-time' });
    expect(props.count).toEqual({ type: 'number', default: 3 });
    expect(props.anything).toEqual({});
    expect(sig.schema.required).toEqual(['n', 'name', 'flag', 'mode', 'tags', 'opts', 'when']);
  });

  it('finds main as an exported arrow function or a re-exported local', () => {
    expect(inferSignature('export const main = async (x: number) => x;').params.map((p) => p.name)).toEqual(['x']);
    expect(
      inferSignature('async function run(y: string) {}\nexport { run as main };').params.map((p) => p.name),
    ).toEqual(['y']);
  });

  it('finds main in a CommonJS script: exports.main, module.exports.main, module.exports = { … }', () => {
    const names = (source: string) => inferSignature(source, 'script.cjs').params.map((p) => [p.name, p.required]);
    expect(names('exports.main = async function main(n = 2, word) {};')).toEqual([
      ['n', false],
      ['word', true],
    ]);
    expect(names('module.exports.main = async (x) => x;')).toEqual([['x', true]]);
    expect(names('function run(a, b = true) {}\nmodule.exports = { main: run, other: 1 };')).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(names('async function main(words = []) {}\nmodule.exports = { main };')).toEqual([['words', false]]);
    expect(names("module.exports = { async main(name = 'x') {} };")).toEqual([['name', false]]);
    const sig = inferSignature(
      "const { task } = require('millrace');\nexports.count = task(async (w) => w.length);\nfunction main() {}",
      'script.js',
    );
    expect(sig).toMatchObject({ hasMain: false, exports: ['count'] });
  });

  it('knows when there is no main, and lists the exports', () => {
    const sig = inferSignature('export function helper() {}\nexport const x = 1;\nfunction main() {}');
    expect(sig.hasMain).toBe(false);
    expect(sig.exports).toEqual(['helper', 'x']);
  });
});

describe('the signature of another exported function (an entrypoint)', () => {
  const source = `
    import { task, workflow } from 'windmill-client';
    export async function add(a: number, b = 1) { return a + b; }
    const local = (s: string) => s;
    export { local as renamed };
    export const double = task(async function double(x: number) { return x * 2; });
    export const traced = task('f/traced', (label: string, n?: number) => label, { timeout: 5 });
    export const main = workflow(async (label: string) => label);
  `;
  const params = (entrypoint: string) =>
    inferSignature(source, 'wf.ts', { entrypoint }).params.map((p) => [p.name, p.required]);

  it('reads an exported function by name: declared, renamed in an export list, or wrapped by task()', () => {
    expect(params('add')).toEqual([
      ['a', true],
      ['b', false],
    ]);
    expect(params('renamed')).toEqual([['s', true]]);
    expect(params('double')).toEqual([['x', true]]);
    expect(params('traced')).toEqual([
      ['label', true],
      ['n', false],
    ]);
    // main is still the function workflow() wraps.
    expect(params('main')).toEqual([['label', true]]);
  });

  it('finds no function for a name the script does not export, and lists its exports', () => {
    const sig = inferSignature(source, 'wf.ts', { entrypoint: 'nope' });
    expect(sig.hasMain).toBe(false);
    expect(sig.exports).toEqual(['add', 'renamed', 'double', 'traced', 'main']);
    expect(
      inferSignature('const hidden = task(async function hidden() {});', 'x.ts', { entrypoint: 'hidden' }).hasMain,
    ).toBe(false);
  });
});

describe('args for main', () => {
  const sig = inferSignature(
    "export async function main(n: number, name: string, dryRun = false, tags: string[] = [], level?: 'a' | 'b') {}",
  );

  it('coerces command-line words to the parameter types', () => {
    expect(parseCliArgs(sig, ['--n', '3', '--name=x', '--dry-run', '--tags', '["a","b"]', '--level', 'b'])).toEqual({
      args: { n: 3, name: 'x', dryRun: true, tags: ['a', 'b'], level: 'b' },
      problems: [],
    });
    expect(parseCliArgs(sig, ['--no-dryRun', '--n', '-2.5', '--name', '']).args).toEqual({
      dryRun: false,
      n: -2.5,
      name: '',
    });
    expect(parseCliArgs(sig, ['--no-dry-run']).args).toEqual({ dryRun: false });
    expect(parseCliArgs(sig, ['4', 'bob']).args).toEqual({ n: 4, name: 'bob' });
  });

  it('takes --args as one JSON object', () => {
    expect(parseCliArgs(sig, ['--args', '{"n":3,"name":"j"}'])).toEqual({ args: { n: 3, name: 'j' }, problems: [] });
    expect(parseCliArgs(sig, ['--args', '[1]']).problems).toEqual([
      `--args: expected a JSON object such as '{"n":3}', got "[1]"`,
    ]);
  });

  it('names the arg, the expected type and what came', () => {
    expect(parseCliArgs(sig, ['--n', 'abc']).problems).toEqual(['--n: expected a number, got "abc"']);
    expect(parseCliArgs(sig, ['--tags', 'a,b']).problems).toEqual([
      '--tags: expected an array of strings as JSON, got "a,b"',
    ]);
    expect(parseCliArgs(sig, ['--bogus', '1']).problems).toEqual([
      'unknown arg --bogus (main takes --n, --name, --dryRun, --tags, --level)',
    ]);
    expect(parseCliArgs(sig, ['--n']).problems).toEqual(['--n needs a value (a number)']);
  });

  it('checks an args object against the schema', () => {
    expect(checkArgs(sig, { n: 1, name: 'x' })).toEqual([]);
    expect(checkArgs(sig, { n: '1', level: 'c', extra: true } as never)).toEqual([
      'unknown arg "extra" (main takes n, name, dryRun, tags, level)',
      'n: expected a number, got string "1"',
      'name is required (a string)',
      'level: expected one of "a", "b", got string "c"',
    ]);
    expect(checkArgs(sig, { n: 1, name: 'x', tags: ['a', 2] } as never)).toEqual([
      'tags[1]: expected a string, got number 2',
    ]);
  });

  it('checks Date and bigint parameters, from JSON or as the values themselves', () => {
    const typed = inferSignature('export async function main(when: Date, big: bigint) {}');
    expect(typed.schema.properties).toEqual({
      when: { type: 'string', format: 'date-time' },
      big: { type: 'integer', format: 'bigint' },
    });
    expect(checkArgs(typed, { when: '2024-01-02T00:00:00Z', big: '123456789012345678901' })).toEqual([]);
    expect(
      checkArgs(typed, {
        when: { __millrace: 'Date', value: '2024-01-02T00:00:00.000Z' },
        big: { __millrace: 'bigint', value: '1' },
      }),
    ).toEqual([]);
    expect(checkArgs(typed, { when: 'never', big: 1.5 })).toEqual([
      'when: expected a date-time string, got string "never"',
      'big: expected an integer, got number 1.5',
    ]);
  });

  it("orders args as main's parameters, leaving missing ones to their defaults", () => {
    expect(positionalArgs(sig, { name: 'x', n: 2 })).toEqual([2, 'x', undefined, undefined, undefined]);
  });
});
