import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../lib/errors.js';
import { resolveServerToken } from '../../lib/http/server-token.js';
import { readTokenFile, tokenFilePath, writeTokenFile } from '../../lib/http/token-file.js';

const tempRoot = () => mkdtempSync(join(tmpdir(), 'millrace-root-'));

describe('the token file', () => {
  it('is written whole with mode 0600, even over a file that was readable by others, leaving no temporary file', () => {
    const root = tempRoot();
    mkdirSync(join(root, '.millrace'));
    writeFileSync(tokenFilePath(root), 'old', { mode: 0o644 });
    chmodSync(tokenFilePath(root), 0o644);
    writeTokenFile(root, { token: 'mr_abc', url: 'http://127.0.0.1:1234' });
    expect(statSync(tokenFilePath(root)).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(root, '.millrace'))).toEqual(['admin-token.json']);
    expect(readTokenFile(root)).toMatchObject({ version: 1, token: 'mr_abc', url: 'http://127.0.0.1:1234', root });
  });

  it('creates .millrace/ when it is missing; a missing file is no file', () => {
    const root = tempRoot();
    expect(readTokenFile(root)).toBeUndefined();
    writeTokenFile(root, { token: 'mr_abc', url: 'http://127.0.0.1:1' });
    expect(readTokenFile(root)?.token).toBe('mr_abc');
  });

  it('a file that is not a token file is an error naming it and the fix', () => {
    const root = tempRoot();
    mkdirSync(join(root, '.millrace'));
    writeFileSync(tokenFilePath(root), '{');
    expect(() => readTokenFile(root)).toThrow(ConfigError);
    expect(() => readTokenFile(root)).toThrow(
      new RegExp(`The token file ${tokenFilePath(root)} is not JSON .*: delete it`),
    );
    writeFileSync(tokenFilePath(root), '{"version":2,"token":"x"}');
    expect(() => readTokenFile(root)).toThrow(
      /is not a millrace token file: expected \{"version":1,.*got \{"version":2,"token":"x"\}/,
    );
  });
});

describe('which token a client sends', () => {
  it('a token given wins, and the file is not read', async () => {
    const root = tempRoot();
    mkdirSync(join(root, '.millrace'));
    writeFileSync(tokenFilePath(root), 'not json');
    const given = { token: 'mr_given', source: { kind: 'flag' as const } };
    expect(await resolveServerToken({ server: 'http://127.0.0.1:9', given, root })).toBe(given);
  });

  it('the file of a copied directory is not used for its copy', async () => {
    const original = tempRoot();
    writeTokenFile(original, { token: 'mr_abc', url: 'http://127.0.0.1:9' });
    const copy = tempRoot();
    cpSync(join(original, '.millrace'), join(copy, '.millrace'), { recursive: true });
    await expect(resolveServerToken({ server: 'http://127.0.0.1:9', given: undefined, root: copy })).rejects.toThrow(
      `No token for the server http://127.0.0.1:9: the token file at ${tokenFilePath(copy)} was written for the root ${original}, not ${copy}`,
    );
  });

  it('no file: the error says where it was looked for', async () => {
    const root = tempRoot();
    await expect(resolveServerToken({ server: 'http://localhost:9', given: undefined, root })).rejects.toThrow(
      `No token for the server http://localhost:9: no token was given and there is no token file at ${tokenFilePath(root)}`,
    );
  });
});
