import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskDefinitionError } from '../errors.js';

/**
 * A task belongs to the module instance that called `task()`. That instance is named by the
 * file name of the calling stack frame, which is what the module loader called the module:
 *
 * - an ES module: its URL, `file:///p/helper.ts?millrace-version=3` (one instance per URL);
 * - a CommonJS module loaded by `require` (a `.cts`, or a `.ts` of a project without
 *   `"type": "module"`): its path, `/p/helper.ts` (one instance per file, the require cache's key);
 * - a CommonJS module that an ES module imports by name (`import { shout } from './helper.ts'`
 *   in an `.mts` or `.mjs` script of such a project): tsx compiles it in its ESM loader and hands
 *   Node the code as `data:text/javascript,<code>?filePath=<path, with the query it was
 *   imported with>`, so that Node can see its export names; Node evaluates it as CommonJS under
 *   that data: URL, as its file name and its key in the require cache. That instance is not the
 *   one `require('/p/helper.ts')` or `import('file:///p/helper.ts')` would give (both go by the
 *   plain path), so the data: URL itself is the module's identity, and its exports are read
 *   from the require cache under it.
 *
 * The module's URL (`moduleUrl` of a TaskDef) keys the task registry; `moduleFile` maps any of
 * the forms back to the file, whose script path the child job runs (the child imports the
 * file as usual, and finds the task by name in the instance it gets).
 */

/** tsx's form of a CommonJS module compiled for the ESM loader (see above). */
const TSX_COMMONJS_DATA = 'data:text/javascript,';
/**
 * tsx's other form of it, a `file:` URL whose path carries the query (`helper.ts%3F…`), marked
 * by this parameter: what Node versions without CommonJS source in load hooks get (as an ES
 * module). Not on the Node versions millrace supports, but it names the same file.
 */
const TSX_VIRTUAL_QUERY = 'tsx-commonjs-virtual-query';

const require = createRequire(import.meta.url);

/** Whether a module URL (or a frame's file name) is tsx's data: URL of a CommonJS module. */
export function isTsxDataModule(moduleUrl: string): boolean {
  return moduleUrl.startsWith(TSX_COMMONJS_DATA) && dataUrlFile(moduleUrl) !== undefined;
}

/** The module URL of a stack frame's file name, or undefined when it names no file of a module. */
export function moduleUrlOfFrame(fileName: string): string | undefined {
  if (fileName.startsWith('file:')) return fileName;
  if (fileName.startsWith(TSX_COMMONJS_DATA)) return isTsxDataModule(fileName) ? fileName : undefined;
  if (isAbsolute(fileName)) return pathToFileURL(fileName).href;
  // node:internal/…, evalmachine.<anonymous>, a data: URL of the user's own: no file to run.
  return undefined;
}

/** The file a module URL (any form moduleUrlOfFrame returns, and tsx's virtual-query URLs) names. */
export function moduleFile(moduleUrl: string): string {
  if (moduleUrl.startsWith(TSX_COMMONJS_DATA)) {
    const file = dataUrlFile(moduleUrl);
    if (file === undefined)
      throw new TaskDefinitionError(`Not a module URL millrace can map to a file: ${moduleUrl.slice(0, 80)}…`);
    return file;
  }
  const url = new URL(moduleUrl);
  if (url.searchParams.has(TSX_VIRTUAL_QUERY)) {
    const at = url.pathname.toLowerCase().lastIndexOf('%3f');
    if (at >= 0) url.pathname = url.pathname.slice(0, at);
  }
  url.search = '';
  url.hash = '';
  return fileURLToPath(url);
}

/**
 * The exports of the module instance at `moduleUrl`, for naming its tasks. An ES module's are
 * its namespace (import() of its URL gives the instance that called task()); a CommonJS module
 * compiled under a data: URL is found in the require cache under that URL.
 */
export async function moduleExports(moduleUrl: string): Promise<Record<string, unknown>> {
  if (!moduleUrl.startsWith(TSX_COMMONJS_DATA)) return (await import(moduleUrl)) as Record<string, unknown>;
  const cached = require.cache[moduleUrl];
  if (!cached) {
    throw new TaskDefinitionError(
      `The module ${moduleFile(moduleUrl)} was loaded as CommonJS under a data: URL that is not in the require cache, ` +
        'so its tasks cannot be named. Import it from a .ts script, or give the project "type": "module".',
    );
  }
  return cached.exports as Record<string, unknown>;
}

/** `filePath` of tsx's data: URL, without the query it was imported with. */
function dataUrlFile(dataUrl: string): string | undefined {
  // The code is URI-encoded, so the first '?' starts tsx's own query.
  const q = dataUrl.indexOf('?');
  if (q < 0) return undefined;
  const filePath = new URLSearchParams(dataUrl.slice(q + 1)).get('filePath');
  if (!filePath) return undefined;
  const file = filePath.replace(/\?.*$/, '');
  return isAbsolute(file) ? file : undefined;
}
