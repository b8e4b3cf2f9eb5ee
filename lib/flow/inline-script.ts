import { ScriptSyntaxError } from '../errors.js';
import { describeValue } from '../describe.js';
import { signatureOfSource } from '../loader/signature.js';
import type { Problem } from './raw-flow.js';
import { TYPESCRIPT_LANGUAGES } from './types.js';

/**
 * A rawscript module's language and source checked: TypeScript only, a source that parses and
 * exports `main`. `at` is the module value's place in the file.
 */
export function checkInlineScript(language: unknown, content: unknown, id: string, at: string, problem: Problem): void {
  if (typeof language !== 'string' || !(TYPESCRIPT_LANGUAGES as readonly string[]).includes(language)) {
    problem(
      `${at}.language`,
      `the language ${describeValue(language)} is not supported: millrace runs TypeScript only (language ${TYPESCRIPT_LANGUAGES.join(', ')})`,
    );
  }
  if (typeof content !== 'string')
    problem(`${at}.content`, `expected the script's source as a string, got ${describeValue(content)}`);
  else {
    const main = inlineMain(content, id);
    // A body in another language does not parse as TypeScript either: its language is the problem already said.
    if (typeof main === 'string' && TYPESCRIPT_LANGUAGES.includes(language as (typeof TYPESCRIPT_LANGUAGES)[number]))
      problem(`${at}.content`, `the inline script does not parse: ${main}`);
    else if (main !== true)
      problem(
        `${at}.content`,
        'the inline script has no exported function main: add `export async function main(...) { ... }`',
      );
  }
}

/** Whether an inline script exports `main`, or the parser's complaint when it does not parse. */
function inlineMain(content: string, id: string): boolean | string {
  try {
    return signatureOfSource(content, `${id}.ts`).hasMain;
  } catch (err) {
    if (err instanceof ScriptSyntaxError) return err.message;
    throw err;
  }
}
