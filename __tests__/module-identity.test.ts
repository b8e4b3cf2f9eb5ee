import { describe, expect, it } from '@jest/globals';
import { TaskDefinitionError } from '../lib/errors.js';
import { isTsxDataModule, moduleExports, moduleFile, moduleUrlOfFrame } from '../lib/task/module-identity.js';

// The forms under which a module that calls task() can appear in a stack frame, and the file
// each names (see lib/task/module-identity.ts). The data: URL is tsx's, as it hands Node a
// CommonJS .ts module that an .mts script imports by name in a project without "type": "module".

const code = encodeURIComponent(
  '__filename="/p/lib/helper.ts";(()=>{ const q = a ? b : c; /* ?filePath=/elsewhere.ts */ })()\n',
);
const tsxData = (filePath: string) => `data:text/javascript,${code}?filePath=${encodeURIComponent(filePath)}`;

describe('moduleUrlOfFrame', () => {
  it('keeps a file: URL, with its query (one ES module instance per URL)', () => {
    expect(moduleUrlOfFrame('file:///p/main.ts?millrace-version=3')).toBe('file:///p/main.ts?millrace-version=3');
  });

  it('turns a CommonJS module’s path into its file: URL', () => {
    expect(moduleUrlOfFrame('/p/lib/helper.ts')).toBe('file:///p/lib/helper.ts');
  });

  it('keeps tsx’s data: URL as it is: it is the instance’s name in the require cache', () => {
    const url = tsxData('/p/lib/helper.ts?millrace-version=2');
    expect(moduleUrlOfFrame(url)).toBe(url);
  });

  it('has no module for frames that name no file', () => {
    expect(moduleUrlOfFrame('node:internal/modules/cjs/loader')).toBeUndefined();
    expect(moduleUrlOfFrame('evalmachine.<anonymous>')).toBeUndefined();
    expect(moduleUrlOfFrame('data:text/javascript,export%20const%20a%3D1')).toBeUndefined();
    expect(moduleUrlOfFrame(`data:text/javascript,${code}?filePath=relative.ts`)).toBeUndefined();
  });
});

describe('isTsxDataModule', () => {
  it('is true for tsx’s data: URL of a file, and for nothing else', () => {
    expect(isTsxDataModule(tsxData('/p/lib/helper.ts?millrace-version=2'))).toBe(true);
    expect(isTsxDataModule('data:text/javascript,export%20const%20a%3D1')).toBe(false);
    expect(isTsxDataModule('file:///p/lib/helper.ts')).toBe(false);
  });
});

describe('moduleFile', () => {
  it('is the path of a file: URL, without millrace’s or tsx’s query', () => {
    expect(moduleFile('file:///p/main.ts?millrace-version=3')).toBe('/p/main.ts');
    expect(moduleFile('file:///p/a%20b/main.ts')).toBe('/p/a b/main.ts');
  });

  it('is the filePath of tsx’s data: URL, without the query it was imported with', () => {
    expect(moduleFile(tsxData('/p/lib/helper.ts?millrace-version=2'))).toBe('/p/lib/helper.ts');
    expect(moduleFile(tsxData('/p/lib/helper.ts?namespace=123&millrace-version=2'))).toBe('/p/lib/helper.ts');
    expect(moduleFile(tsxData('/p/lib/helper.ts'))).toBe('/p/lib/helper.ts');
  });

  it('is the file of tsx’s virtual-query URL, whose path carries the query', () => {
    const url =
      'file:///p/lib/helper.ts%3Ftsx-commonjs-export-preparse=1?tsx-commonjs-export-preparse=1&tsx-commonjs-virtual-query=1&millrace-version=1';
    expect(moduleFile(url)).toBe('/p/lib/helper.ts');
  });

  it('refuses a data: URL that names no file, with a TaskDefinitionError', () => {
    expect(() => moduleFile('data:text/javascript,export%20const%20a%3D1')).toThrow(TaskDefinitionError);
  });
});

describe('moduleExports', () => {
  it('of a file: URL is the module’s namespace', async () => {
    const exports = await moduleExports(new URL('../lib/task/module-identity.ts', import.meta.url).href);
    expect(exports.moduleFile).toBe(moduleFile);
  });

  it('of a data: URL that is not in the require cache is a TaskDefinitionError naming the file', async () => {
    await expect(moduleExports(tsxData('/p/lib/helper.ts?millrace-version=2'))).rejects.toThrow(TaskDefinitionError);
    await expect(moduleExports(tsxData('/p/lib/helper.ts?millrace-version=2'))).rejects.toThrow(
      /The module \/p\/lib\/helper\.ts was loaded as CommonJS under a data: URL that is not in the require cache/,
    );
  });
});
