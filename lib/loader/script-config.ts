import { createRequire } from 'node:module';
import type TS from 'typescript';
import { TaskDefinitionError } from '../errors.js';
import { describeValue } from '../describe.js';
import { callFlowControl, checkFlowOptions, withTaskName } from '../flow-options.js';
import type { FlowControl, TaskOptions } from '../types.js';
import { storedConfig, type StoredConfig } from './signature-store.js';

/**
 * A script's flow control, from its `export const config = { concurrency, rateLimit, priority }`:
 * read from the source (syntax only, like main's signature), so a submission need not import
 * the script. The config must be a literal: keys are strings (a script has no call args to
 * compute one from). A key left out is the script's path.
 */

/** What a script's config may hold: the limits and the priority (the cache is a task option). */
const CONFIG_KEYS = ['concurrency', 'rateLimit', 'priority'] as const;

let tsModule: typeof TS | undefined;
const cache = new Map<string, FlowControl | undefined>();

/** The flow control `source`'s exported config asks for; undefined when it has none. Cached by content hash. */
export function scriptFlowControl(source: string, hash: string, scriptPath: string): FlowControl | undefined {
  const key = `${hash}\0${scriptPath}`;
  if (cache.has(key)) return cache.get(key);
  const flow = readConfig(source, scriptPath);
  cache.set(key, flow);
  return flow;
}

function readConfig(source: string, scriptPath: string): FlowControl | undefined {
  // Cheap test first: most scripts have no config, and parsing costs.
  if (!/\bconfig\b/.test(source)) return undefined;
  // The literal is kept on disk: the next process need not load the compiler for it.
  const config = storedConfig(source, () => configLiteral(source));
  if (!config.found) return undefined;
  const value = config.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TaskDefinitionError(
      `${scriptPath}: export const config must be an object literal, got ${describeValue(value)}`,
    );
  }
  for (const k of Object.keys(value)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
      throw new TaskDefinitionError(
        `${scriptPath}: config.${k} is not an option of a script's config; expected ${CONFIG_KEYS.join(', ')}`,
      );
    }
  }
  const options = value as TaskOptions;
  try {
    checkFlowOptions(options);
  } catch (err) {
    throw new TaskDefinitionError(`${scriptPath}: ${(err as Error).message.replace('task options.', 'config.')}`);
  }
  return withTaskName(callFlowControl(options, [], scriptPath), scriptPath);
}

/** The value of the source's `export const config = <literal>`, if it has one. */
function configLiteral(source: string): StoredConfig {
  const ts = (tsModule ??= createRequire(import.meta.url)('typescript') as typeof TS);
  const file = ts.createSourceFile('script.ts', source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  for (const statement of file.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    for (const d of statement.declarationList.declarations) {
      if (!ts.isIdentifier(d.name) || d.name.text !== 'config' || !d.initializer) continue;
      return { found: true, value: literal(ts, d.initializer, 'config') };
    }
  }
  return { found: false };
}

type Literal = null | boolean | number | string | Literal[] | { [k: string]: Literal };

/** A literal expression's value; anything else (a function, a variable) is refused, naming where. */
function literal(ts: typeof TS, node: TS.Expression, at: string): Literal {
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node) || ts.isSatisfiesExpression(node))
    return literal(ts, node.expression, at);
  if (ts.isNumericLiteral(node)) return Number(node.text);
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (node.kind === ts.SyntaxKind.TrueKeyword) return true;
  if (node.kind === ts.SyntaxKind.FalseKeyword) return false;
  if (node.kind === ts.SyntaxKind.NullKeyword) return null;
  if (
    ts.isPrefixUnaryExpression(node) &&
    node.operator === ts.SyntaxKind.MinusToken &&
    ts.isNumericLiteral(node.operand)
  )
    return -Number(node.operand.text);
  if (ts.isArrayLiteralExpression(node)) return node.elements.map((e, i) => literal(ts, e, `${at}[${i}]`));
  if (ts.isObjectLiteralExpression(node)) {
    const out: { [k: string]: Literal } = {};
    for (const p of node.properties) {
      if (!ts.isPropertyAssignment(p) || !(ts.isIdentifier(p.name) || ts.isStringLiteral(p.name))) {
        throw new TaskDefinitionError(`${at}: expected plain properties (name: value) in a script's config`);
      }
      out[p.name.text] = literal(ts, p.initializer, `${at}.${p.name.text}`);
    }
    return out;
  }
  throw new TaskDefinitionError(
    `${at}: a script's config must be a literal (numbers, strings, objects); a key computed from args needs a task's key function`,
  );
}
