import { FlowValidationError } from '../errors.js';
import { describeValue } from '../describe.js';
import { resolveScript } from '../loader/paths.js';
import type { JsonSchema } from '../loader/signature.js';
import type { Json } from '../types.js';
import { readsIter, referencedResults, syntaxProblem } from './expressions.js';
import { readFlowFile } from './parse.js';
import { resolveFlow } from './files.js';
import { MODULE_TYPES, type Flow, type FlowModule, type InputTransform, type ModuleValue } from './types.js';
import { moduleFlowControl } from './module-flow-control.js';
import { checkRetry, checkTag, checkTimeout, checkUnsupportedOptions } from './module-options.js';
import { checkInlineScript } from './inline-script.js';
import { collectIds, isObj, type Problem } from './raw-flow.js';

/**
 * Checks an OpenFlow value and turns it into a Flow, or refuses it with every problem found:
 * an unknown module type, a duplicate id, a reference to a later module's result, an unknown
 * script path, a rawscript in a language other than TypeScript, a bad expression…
 */
export function validateFlow(raw: unknown, flowPath: string, root: string): Flow {
  const v = new Validator(flowPath, root);
  const flow = v.flow(raw);
  if (v.problems.length > 0) throw new FlowValidationError(flowPath, v.problems);
  return flow;
}

/** Reads, parses and validates the flow at `input` (a flow path or file). */
export function loadFlow(root: string, input: string): { flow: Flow; hash: string; file: string } {
  const found = resolveFlow(root, input);
  const raw = readFlowFile(found.file, found.path);
  return { flow: validateFlow(raw, found.path, root), hash: found.hash, file: found.file };
}

/** Module types of Windmill's that millrace does not run. */
const UNSUPPORTED_TYPES = ['flow', 'whileloopflow', 'aiagent'];

/** What an expression may read at its place in the flow. */
interface Scope {
  /** Ids of modules that have run before this point. */
  before: Set<string>;
  inLoop: boolean;
}

class Validator {
  readonly problems: string[] = [];
  /** this.problem, for the checks that live in their own files. */
  private readonly report: Problem = (at, message) => this.problem(at, message);
  private readonly ids = new Map<string, string>();
  /** Every module id in the flow, collected first, so that a reference to a later one is named as such. */
  private allIds = new Set<string>();

  constructor(
    private readonly flowPath: string,
    private readonly root: string,
  ) {}

  flow(raw: unknown): Flow {
    const flow: Flow = {
      path: this.flowPath,
      summary: undefined,
      modules: [],
      failureModule: undefined,
      schema: { type: 'object', properties: {}, required: [] },
    };
    if (!isObj(raw)) {
      this.problem('the file', `expected an OpenFlow object with summary, value and schema, got ${describeValue(raw)}`);
      return flow;
    }
    if (raw.summary !== undefined && raw.summary !== null && typeof raw.summary !== 'string')
      this.problem('summary', `expected a string, got ${describeValue(raw.summary)}`);
    flow.summary = typeof raw.summary === 'string' ? raw.summary : undefined;
    flow.schema = this.schema(raw.schema);
    if (!isObj(raw.value)) {
      this.problem('value', `expected an object with modules, got ${describeValue(raw.value)}`);
      return flow;
    }
    const value = raw.value;
    if (value.preprocessor_module) this.problem('value.preprocessor_module', 'a preprocessor module is not supported');
    if (!Array.isArray(value.modules)) {
      this.problem('value.modules', `expected an array of modules, got ${describeValue(value.modules)}`);
      return flow;
    }
    this.allIds = collectIds(value.modules);
    if (isObj(value.failure_module) && typeof value.failure_module.id === 'string')
      this.allIds.add(value.failure_module.id);
    flow.modules = this.modules(value.modules, 'value.modules', { before: new Set(), inLoop: false });
    if (value.failure_module !== undefined && value.failure_module !== null) {
      // The failure module runs after any module: it may read every result that exists by then.
      const all = new Set(this.allIds);
      if (isObj(value.failure_module) && typeof value.failure_module.id === 'string')
        all.delete(value.failure_module.id);
      flow.failureModule = this.module(value.failure_module, 'value.failure_module', { before: all, inLoop: false });
    }
    return flow;
  }

  private schema(raw: unknown): JsonSchema {
    if (raw === undefined || raw === null) return { type: 'object', properties: {}, required: [] };
    if (!isObj(raw) || (raw.type !== undefined && raw.type !== 'object')) {
      this.problem('schema', `expected a JSON schema of type object, got ${describeValue(raw)}`);
      return { type: 'object', properties: {}, required: [] };
    }
    if (raw.properties !== undefined && !isObj(raw.properties))
      this.problem('schema.properties', `expected an object, got ${describeValue(raw.properties)}`);
    if (
      raw.required !== undefined &&
      !(Array.isArray(raw.required) && raw.required.every((r) => typeof r === 'string'))
    ) {
      this.problem('schema.required', `expected an array of names, got ${describeValue(raw.required)}`);
    }
    return {
      type: 'object',
      properties: (isObj(raw.properties) ? raw.properties : {}) as Record<string, JsonSchema>,
      required: Array.isArray(raw.required) ? (raw.required as string[]) : [],
    };
  }

  private modules(raw: unknown, at: string, scope: Scope): FlowModule[] {
    if (!Array.isArray(raw)) {
      this.problem(at, `expected an array of modules, got ${describeValue(raw)}`);
      return [];
    }
    const before = new Set(scope.before);
    const out: FlowModule[] = [];
    raw.forEach((m, i) => {
      const module = this.module(m, `${at}[${i}]`, { before, inLoop: scope.inLoop });
      if (module) {
        out.push(module);
        before.add(module.id);
      }
    });
    return out;
  }

  private module(raw: unknown, at: string, scope: Scope): FlowModule | undefined {
    if (!isObj(raw)) {
      this.problem(at, `expected a module object with id and value, got ${describeValue(raw)}`);
      return undefined;
    }
    let id = typeof raw.id === 'string' ? raw.id : '';
    if (!/^[A-Za-z_][\w-]*$/.test(id)) {
      this.problem(
        at,
        `expected an id of letters, digits, _ or -, starting with a letter or _, got ${describeValue(raw.id)}`,
      );
      id ||= `(module at ${at})`;
    } else {
      const first = this.ids.get(id);
      if (first)
        this.problem(
          `${at} (id "${id}")`,
          `duplicate id "${id}": ${first} has it too; module ids must be unique in a flow`,
        );
      else this.ids.set(id, at);
    }
    const where = `${at} (id "${id}")`;
    checkUnsupportedOptions(raw, where, this.report);
    const module: FlowModule = {
      id,
      summary: typeof raw.summary === 'string' ? raw.summary : undefined,
      value: { type: 'identity' },
      stopAfterIf: this.condition(raw.stop_after_if, `${where}.stop_after_if`, {
        ...scope,
        before: new Set([...scope.before, id]),
      }),
      skipIf: this.condition(raw.skip_if, `${where}.skip_if`, scope),
      retry: checkRetry(raw.retry, `${where}.retry`, this.report),
      timeout: checkTimeout(raw.timeout, `${where}.timeout`, this.report),
      flowControl: moduleFlowControl(raw, where, this.report),
    };
    const value = this.value(raw.value, `${where}.value`, id, scope);
    if (value) module.value = value;
    return module;
  }

  private value(raw: unknown, at: string, id: string, scope: Scope): ModuleValue | undefined {
    if (!isObj(raw)) {
      this.problem(at, `expected a module value with a type, got ${describeValue(raw)}`);
      return undefined;
    }
    const type = raw.type;
    switch (type) {
      case 'script': {
        const path = typeof raw.path === 'string' ? raw.path : undefined;
        if (!path) this.problem(`${at}.path`, `expected the path of a script, got ${describeValue(raw.path)}`);
        else {
          try {
            resolveScript(this.root, path);
          } catch (err) {
            this.problem(`${at}.path`, `unknown script path "${path}": ${(err as Error).message}`);
          }
        }
        return {
          type,
          path: path ?? '',
          inputTransforms: this.transforms(raw.input_transforms, `${at}.input_transforms`, scope),
          tag: checkTag(raw.tag, `${at}.tag`, this.report),
        };
      }
      case 'rawscript': {
        const language = raw.language;
        const content = typeof raw.content === 'string' ? raw.content : '';
        checkInlineScript(language, raw.content, id, at, this.report);
        return {
          type,
          content,
          language: String(language),
          inputTransforms: this.transforms(raw.input_transforms, `${at}.input_transforms`, scope),
          tag: checkTag(raw.tag, `${at}.tag`, this.report),
        };
      }
      case 'identity':
        return { type };
      case 'forloopflow': {
        const iterator = this.javascript(raw.iterator, `${at}.iterator`, id, scope);
        if (raw.parallel !== undefined && typeof raw.parallel !== 'boolean')
          this.problem(`${at}.parallel`, `expected true or false, got ${describeValue(raw.parallel)}`);
        if (raw.skip_failures !== undefined && typeof raw.skip_failures !== 'boolean')
          this.problem(`${at}.skip_failures`, `expected true or false, got ${describeValue(raw.skip_failures)}`);
        let parallelism: number | undefined;
        if (raw.parallelism !== undefined && raw.parallelism !== null) {
          const p =
            isObj(raw.parallelism) && raw.parallelism.type === 'static' ? raw.parallelism.value : raw.parallelism;
          if (typeof p === 'number' && Number.isInteger(p) && p >= 1) parallelism = p;
          else this.problem(`${at}.parallelism`, `expected an integer ≥ 1, got ${describeValue(raw.parallelism)}`);
        }
        const modules = this.modules(raw.modules, `${at}.modules`, { before: scope.before, inLoop: true });
        return {
          type,
          iterator: iterator ?? 'null',
          modules,
          parallel: raw.parallel === true,
          parallelism,
          skipFailures: raw.skip_failures === true,
        };
      }
      case 'branchone': {
        const branches = this.list(raw.branches, `${at}.branches`).map((b, i) => {
          const bat = `${at}.branches[${i}]`;
          if (!isObj(b)) {
            this.problem(bat, `expected a branch with expr and modules, got ${describeValue(b)}`);
            return { summary: undefined, expr: 'false', modules: [] };
          }
          const expr = typeof b.expr === 'string' ? b.expr : undefined;
          if (!expr) this.problem(`${bat}.expr`, `expected a JavaScript expression, got ${describeValue(b.expr)}`);
          else this.checkExpression(expr, `${bat}.expr`, scope);
          return {
            summary: typeof b.summary === 'string' ? b.summary : undefined,
            expr: expr ?? 'false',
            modules: this.modules(b.modules, `${bat}.modules`, scope),
          };
        });
        const fallback =
          raw.default === undefined || raw.default === null ? [] : this.modules(raw.default, `${at}.default`, scope);
        return { type, branches, default: fallback };
      }
      case 'branchall': {
        if (raw.parallel !== undefined && typeof raw.parallel !== 'boolean')
          this.problem(`${at}.parallel`, `expected true or false, got ${describeValue(raw.parallel)}`);
        const branches = this.list(raw.branches, `${at}.branches`).map((b, i) => {
          const bat = `${at}.branches[${i}]`;
          if (!isObj(b)) {
            this.problem(bat, `expected a branch with modules, got ${describeValue(b)}`);
            return { summary: undefined, skipFailure: false, modules: [] };
          }
          if (b.skip_failure !== undefined && typeof b.skip_failure !== 'boolean')
            this.problem(`${bat}.skip_failure`, `expected true or false, got ${describeValue(b.skip_failure)}`);
          return {
            summary: typeof b.summary === 'string' ? b.summary : undefined,
            skipFailure: b.skip_failure === true,
            modules: this.modules(b.modules, `${bat}.modules`, scope),
          };
        });
        return { type, branches, parallel: raw.parallel === true };
      }
      default: {
        const hint = UNSUPPORTED_TYPES.includes(String(type))
          ? `Windmill's ${String(type)} modules are not supported by millrace`
          : 'unknown module type';
        this.problem(`${at}.type`, `${hint} ${describeValue(type)}; supported: ${MODULE_TYPES.join(', ')}`);
        return undefined;
      }
    }
  }

  private transforms(raw: unknown, at: string, scope: Scope): Record<string, InputTransform> {
    if (raw === undefined || raw === null) return {};
    if (!isObj(raw)) {
      this.problem(at, `expected an object of input transforms, got ${describeValue(raw)}`);
      return {};
    }
    const out: Record<string, InputTransform> = {};
    for (const [name, t] of Object.entries(raw)) {
      const tat = `${at}.${name}`;
      if (!isObj(t)) {
        this.problem(tat, `expected { type: static, value } or { type: javascript, expr }, got ${describeValue(t)}`);
      } else if (t.type === 'static') {
        out[name] = { type: 'static', value: (t.value ?? null) as Json };
      } else if (t.type === 'javascript') {
        if (typeof t.expr !== 'string' || t.expr.trim() === '')
          this.problem(`${tat}.expr`, `expected a JavaScript expression, got ${describeValue(t.expr)}`);
        else {
          this.checkExpression(t.expr, tat, scope);
          out[name] = { type: 'javascript', expr: t.expr };
        }
      } else {
        this.problem(
          `${tat}.type`,
          `unknown input transform type ${describeValue(t.type)}; supported: static, javascript`,
        );
      }
    }
    return out;
  }

  private javascript(raw: unknown, at: string, _id: string, scope: Scope): string | undefined {
    if (!isObj(raw) || raw.type !== 'javascript' || typeof raw.expr !== 'string') {
      this.problem(at, `expected { type: javascript, expr }, got ${describeValue(raw)}`);
      return undefined;
    }
    this.checkExpression(raw.expr, at, scope);
    return raw.expr;
  }

  private condition(raw: unknown, at: string, scope: Scope): { expr: string } | undefined {
    if (raw === undefined || raw === null) return undefined;
    if (!isObj(raw) || typeof raw.expr !== 'string' || raw.expr.trim() === '') {
      this.problem(at, `expected { expr: "<JavaScript expression>" }, got ${describeValue(raw)}`);
      return undefined;
    }
    if (raw.error_message) this.problem(`${at}.error_message`, 'error_message is not supported');
    this.checkExpression(raw.expr, at, scope);
    return { expr: raw.expr };
  }

  private checkExpression(expr: string, at: string, scope: Scope): void {
    const syntax = syntaxProblem(expr);
    if (syntax) this.problem(at, `the expression ${JSON.stringify(expr)} does not compile: ${syntax}`);
    for (const ref of referencedResults(expr)) {
      if (scope.before.has(ref)) continue;
      if (this.allIds.has(ref))
        this.problem(
          at,
          `the expression ${JSON.stringify(expr)} reads results.${ref}, but module "${ref}" runs later (or in another branch or loop); only earlier modules' results exist`,
        );
      else
        this.problem(
          at,
          `the expression ${JSON.stringify(expr)} reads results.${ref}, but no module has the id "${ref}"`,
        );
    }
    if (!scope.inLoop && readsIter(expr))
      this.problem(
        at,
        `the expression ${JSON.stringify(expr)} reads flow_input.iter, which exists only inside a forloopflow`,
      );
  }

  private list(raw: unknown, at: string): unknown[] {
    if (Array.isArray(raw)) return raw;
    this.problem(at, `expected an array, got ${describeValue(raw)}`);
    return [];
  }

  private problem(at: string, message: string): void {
    this.problems.push(`${at}: ${message}`);
  }
}
