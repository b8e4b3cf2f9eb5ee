import { expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * For the Windmill tests: an approval answered through its URL, and Windmill's
 * "Workflow-as-Code Writing Guide", as Windmill ships it inside its CLI (windmill-cli
 * on npm, a devDependency pinned to one version): its TypeScript examples are read from there
 * when the tests run, so nothing of Windmill's text is copied into this repository.
 */

/** The guide's TypeScript examples, by the section (## heading) they are in. */
export function guideExamples(): Map<string, string[]> {
  const cli = createRequire(import.meta.url).resolve('windmill-cli/esm/main.js');
  const source = readFileSync(cli, 'utf8');
  const start = source.indexOf('# Windmill Workflow-as-Code Writing Guide');
  const end = source.indexOf('## TypeScript Workflow-as-Code API', start);
  if (start < 0 || end < 0) throw new Error(`${cli} no longer holds the Workflow-as-Code Writing Guide`);
  // The guide is a template literal in the CLI's bundle: its backticks and `${` are escaped.
  const guide = source
    .slice(start, end)
    .replace(/\\`/g, '`')
    .replace(/\\\$\{/g, '${');
  const examples = new Map<string, string[]>();
  let section = '';
  for (const part of guide.split(/^(## .+)$/m)) {
    if (part.startsWith('## ')) {
      section = part.slice(3).trim();
      continue;
    }
    const blocks = [...part.matchAll(/```typescript\n([\s\S]*?)```/g)].map((m) => m[1]);
    if (blocks.length > 0) examples.set(section, blocks);
  }
  return examples;
}

/** The File Shape script with its workflow's body replaced by `body`. */
export function inFileShape(fileShape: string, body: string): string {
  const open = 'export const main = workflow(async (x: string) => {\n';
  const at = fileShape.indexOf(open);
  if (at < 0) throw new Error(`The guide's File Shape no longer opens its workflow with: ${open}`);
  return `${fileShape.slice(0, at + open.length)}${body}\n});\n`;
}

/**
 * Approves through a resume URL as `approver` with `value`. The wait may still be on its way
 * in: a 409 says so, and the answer is sent again; anything but 200 or 409 fails the test.
 */
export async function approveThrough(resume: string, approver: string, value: unknown): Promise<void> {
  for (;;) {
    const answered = await fetch(`${resume}?approver=${approver}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(value),
    });
    expect([200, 409]).toContain(answered.status);
    await answered.text();
    if (answered.status !== 409) return;
  }
}
