import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as YAML from 'yaml';
import { FlowValidationError } from '../errors.js';

/**
 * Reads a flow file as plain data: YAML (`.flow.yaml`, `.flow.yml`) or JSON (`.flow.json`).
 * Syntax errors are a FlowValidationError that gives the line.
 */
export function readFlowFile(file: string, flowPath: string): unknown {
  return parseFlowText(readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'yaml', flowPath);
}

let yamlModule: typeof YAML | undefined;
/** Loaded on first use: every process that imports millrace has the worker, few read flows. */
function yaml(): typeof YAML {
  yamlModule ??= createRequire(import.meta.url)('yaml') as typeof YAML;
  return yamlModule;
}

export function parseFlowText(text: string, format: 'yaml' | 'json', flowPath: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const message = (err as Error).message.split('\n')[0];
      // Node 20's message may not give a position; the YAML parser (JSON is YAML) finds the line.
      const at = /position (\d+)/.exec(message);
      const offset = at ? Number(at[1]) : yaml().parseDocument(text).errors[0]?.pos[0];
      const line = offset === undefined ? undefined : text.slice(0, offset).split('\n').length;
      throw new FlowValidationError(flowPath, [`invalid JSON${line ? ` at line ${line}` : ''}: ${message}`]);
    }
  }
  const doc = yaml().parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new FlowValidationError(
      flowPath,
      doc.errors.map((e) => {
        const before = text.slice(0, e.pos[0]).split('\n');
        return `invalid YAML at line ${before.length}, column ${before[before.length - 1].length + 1}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}
