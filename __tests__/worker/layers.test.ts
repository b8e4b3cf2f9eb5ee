import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// The rule in docs/architecture.md: worker/ is above flow/, so nothing in flow/ imports worker/.
describe('layers', () => {
  it('flow/ imports nothing of worker/', () => {
    const dir = join(process.cwd(), 'lib', 'flow');
    const offenders = readdirSync(dir)
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /from\s+['"]\.\.\/worker\//.test(readFileSync(join(dir, f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});
