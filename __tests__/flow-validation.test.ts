import { describe, expect, it } from '@jest/globals';
import { FlowExpressionError, FlowValidationError } from '../lib/errors.js';
import { evaluate } from '../lib/flow/expressions.js';
import { parseFlowText } from '../lib/flow/parse.js';
import { validateFlow } from '../lib/flow/validate.js';
import { REPO_ROOT } from './helpers/engine.js';

/** The problems a flow text is refused with. */
function problems(text: string, format: 'yaml' | 'json' = 'yaml'): string[] {
  try {
    validateFlow(parseFlowText(text, format, 'f/bad'), 'f/bad', REPO_ROOT);
  } catch (err) {
    expect(err).toBeInstanceOf(FlowValidationError);
    return (err as FlowValidationError).problems;
  }
  throw new Error('the flow was accepted');
}

const step = (id: string, extra = '') => `
    - id: ${id}
      value: { type: identity }${extra}`;

describe('a bad flow is refused before it runs, with every problem listed', () => {
  it('an unknown module type', () => {
    expect(problems(`value:\n  modules:\n    - id: a\n      value: { type: nonsense }`)).toEqual([
      'value.modules[0] (id "a").value.type: unknown module type string "nonsense"; supported: script, rawscript, identity, forloopflow, branchone, branchall',
    ]);
    expect(problems(`value:\n  modules:\n    - id: a\n      value: { type: whileloopflow, modules: [] }`)[0]).toMatch(
      /Windmill's whileloopflow modules are not supported by millrace/,
    );
  });

  it('a duplicate id, nested ones included', () => {
    expect(
      problems(
        `value:\n  modules:${step('a')}\n    - id: loop\n      value:\n        type: forloopflow\n        iterator: { type: javascript, expr: "[1]" }\n        modules:${step('a').replace(/\n {4}/g, '\n          ')}`,
      ),
    ).toEqual([
      'value.modules[1] (id "loop").value.modules[0] (id "a"): duplicate id "a": value.modules[0] has it too; module ids must be unique in a flow',
    ]);
  });

  it('a reference to a later module’s result, or to no module', () => {
    const text = `value:
  modules:
    - id: a
      value:
        type: script
        path: __tests__/fixtures/flows/echo
        input_transforms:
          label: { type: javascript, expr: results.b.label }
          value: { type: javascript, expr: results.nobody }
    - id: b
      value: { type: identity }`;
    expect(problems(text)).toEqual([
      'value.modules[0] (id "a").value.input_transforms.label: the expression "results.b.label" reads results.b, but module "b" runs later (or in another branch or loop); only earlier modules\' results exist',
      'value.modules[0] (id "a").value.input_transforms.value: the expression "results.nobody" reads results.nobody, but no module has the id "nobody"',
    ]);
  });

  it('an unknown script path', () => {
    const [problem] = problems(
      `value:\n  modules:\n    - id: a\n      value: { type: script, path: f/does/not/exist }`,
    );
    expect(problem).toMatch(
      /^value\.modules\[0\] \(id "a"\)\.value\.path: unknown script path "f\/does\/not\/exist": Unknown script/,
    );
  });

  it('invalid YAML, with its line; invalid JSON, with its line', () => {
    const [yaml] = problems('summary: ok\nvalue:\n  modules: [\n    - id: a\n');
    expect(yaml).toMatch(/^invalid YAML at line \d+, column \d+: /);
    expect(problems('summary: x\nsummary: y\nvalue: { modules: [] }')).toEqual([
      expect.stringMatching(/^invalid YAML at line 2, column 1: Map keys must be unique/),
    ]);
    expect(problems('{\n  "value": {\n    "modules": [,]\n  }\n}', 'json')).toEqual([
      expect.stringMatching(/^invalid JSON at line 3: /),
    ]);
  });

  it('a rawscript in a language other than TypeScript, or without main', () => {
    expect(
      problems(
        `value:\n  modules:\n    - id: a\n      value: { type: rawscript, language: python3, content: "def main(): pass" }`,
      ),
    ).toEqual([
      'value.modules[0] (id "a").value.language: the language string "python3" is not supported: millrace runs TypeScript only (language bun, deno, nativets, typescript)',
      'value.modules[0] (id "a").value.content: the inline script has no exported function main: add `export async function main(...) { ... }`',
    ]);
  });

  it('flow_input.iter outside a loop, an expression that does not compile, unsupported options', () => {
    const text = `value:
  modules:
    - id: a
      skip_if: { expr: "flow_input.iter.index > 0" }
      sleep: { type: static, value: 5 }
      value: { type: identity }
    - id: b
      stop_after_if: { expr: "result ===" }
      value: { type: identity }`;
    expect(problems(text)).toEqual([
      'value.modules[0] (id "a").sleep: the module option sleep is not supported',
      'value.modules[0] (id "a").skip_if: the expression "flow_input.iter.index > 0" reads flow_input.iter, which exists only inside a forloopflow',
      expect.stringMatching(
        /^value\.modules\[1\] \(id "b"\)\.stop_after_if: the expression "result ===" does not compile: Unexpected token/,
      ),
    ]);
  });

  it('lists every problem of a flow at once', () => {
    const text = `value:
  modules:
    - id: a
      value: { type: nonsense }
    - id: a
      value: { type: script, path: nowhere/at/all }
    - id: c
      value: { type: rawscript, language: go, content: "export async function main() {}" }`;
    const list = problems(text);
    expect(list).toHaveLength(4);
    try {
      validateFlow(parseFlowText(text, 'yaml', 'f/bad'), 'f/bad', REPO_ROOT);
    } catch (err) {
      expect((err as Error).message).toMatch(/^Flow "f\/bad" cannot run \(4 problems\):\n {2}- /);
    }
  });
});

describe('flow expressions', () => {
  const names = { flow_input: { n: 2, items: [1, 2] }, results: { a: { x: 5 } }, previous_result: 'p' };
  const site = { moduleId: 'm', where: 'input_transforms.x' };

  it('read only the documented names', () => {
    expect(evaluate('flow_input.n * results.a.x', names, site)).toBe(10);
    expect(evaluate('previous_result + flow_input.items.length', names, site)).toBe('p2');
    expect(evaluate('typeof process + typeof require + typeof setTimeout', names, site)).toBe(
      'undefinedundefinedundefined',
    );
  });

  it('cannot reach the host through constructors: code generation from strings is off', () => {
    expect(() => evaluate("this.constructor.constructor('return process')()", names, site)).toThrow(
      FlowExpressionError,
    );
    expect(() => evaluate("results.constructor.constructor('return process')()", names, site)).toThrow(
      /Code generation from strings disallowed/,
    );
  });

  it('stop after the time limit, with an error naming the module and the expression', () => {
    expect(() => evaluate('(() => { for (;;) {} })()', names, site)).toThrow(
      'Module "m": input_transforms.x expression "(() => { for (;;) {} })()" failed: it ran longer than the limit of 1000 ms',
    );
  });
});
