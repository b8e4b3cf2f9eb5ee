import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { FlowValidationError } from '../errors.js';

/**
 * Reads a flow file as plain data: YAML (`.flow.yaml`, `.flow.yml`) or JSON (`.flow.json`).
 * Syntax errors are a FlowValidationError that gives the line.
 */
export function readFlowFile(file: string, flowPath: string): unknown {
  return parseFlowText(readFileSync(file, 'utf8'), file.endsWith('.json') ? 'json' : 'yaml', flowPath);
}

export function parseFlowText(text: string, format: 'yaml' | 'json', flowPath: string): unknown {
  if (format === 'json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      const message = (err as Error).message;
      const at = /position (\d+)/.exec(message);
      const line = at ? text.slice(0, Number(at[1])).split('\n').length : undefined;
      throw new FlowValidationError(flowPath, [`invalid JSON${line ? ` at line ${line}` : ''}: ${message}`]);
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new FlowValidationError(
      flowPath,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        return `invalid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]}`;
      }),
    );
  }
  return doc.toJS({ maxAliasCount: 100 }) as unknown;
}
