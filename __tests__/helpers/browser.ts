import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';

/**
 * The Chromium the browser tests drive. By default the headless Chromium that the npm package
 * @sparticuz/chromium ships, with its own NSS libraries and a font, so that every machine runs the
 * same browser and needs nothing from apt. MILLRACE_TEST_CHROMIUM (or the older MILLRACE_CHROMIUM)
 * names a browser installed otherwise (`/usr/bin/chromium`) to use instead.
 * Playwright never downloads a browser here.
 */
export interface ChromiumInstall {
  executablePath: string;
  /** The environment the browser needs (its libraries and fonts); undefined: the process's own. */
  env?: Record<string, string>;
}

const ARGS = [
  '--no-sandbox',
  '--no-zygote',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export async function launchChromium(): Promise<Browser> {
  const install = await chromiumInstall();
  return chromium.launch({ executablePath: install.executablePath, env: install.env, args: ARGS });
}

export async function chromiumInstall(): Promise<ChromiumInstall> {
  const variable = process.env.MILLRACE_TEST_CHROMIUM
    ? 'MILLRACE_TEST_CHROMIUM'
    : process.env.MILLRACE_CHROMIUM
      ? 'MILLRACE_CHROMIUM'
      : undefined;
  if (variable) {
    const system = process.env[variable]!;
    if (!existsSync(system))
      throw new Error(
        `${variable} names ${system}, which does not exist: expected the path of a Chromium executable, or unset it to use the one from npm (@sparticuz/chromium)`,
      );
    return { executablePath: system };
  }
  const dir = await unpackedChromium();
  return {
    executablePath: join(dir, 'chromium'),
    env: {
      ...stringEnv(),
      // LD_LIBRARY_PATH is searched before the system's directories, so the bundled NSS wins everywhere.
      LD_LIBRARY_PATH: [join(dir, 'al2023', 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
      FONTCONFIG_PATH: dir,
    },
  };
}

/**
 * Unpacks @sparticuz/chromium's archives once per user and package version into the temp dir,
 * and returns that folder. Not through its `executablePath()`: that one unpacks into a
 * fixed `/tmp/chromium` that it trusts as soon as the file exists, so a test file running beside
 * another could launch a half-written binary, and a copy unpacked by root (mode 0700) stops every
 * other user. Here each unpack goes to a folder of its own that is renamed into place when
 * complete: whoever renames first wins, and the folder is never seen half-made. (None of the
 * package's JavaScript runs, only its archives are read: its `engines` asks for Node 22, and
 * npm's warning about that on Node 20 does not concern us.)
 */
async function unpackedChromium(): Promise<string> {
  const pkgMain = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  const pkgDir = join(dirname(pkgMain), '..');
  const version = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const bin = join(pkgDir, 'bin');
  const final = join(tmpdir(), `millrace-chromium-${version}-${userInfo().uid}`);
  if (existsSync(join(final, 'chromium'))) return final;

  const staging = await mkdtemp(join(tmpdir(), 'millrace-chromium-unpack-'));
  try {
    await pipeline(
      createReadStream(join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(join(staging, 'chromium'), { mode: 0o755 }),
    );
    await untarBrotli(join(bin, 'fonts.tar.br'), staging); // fonts/Open_Sans/*.ttf (and their fonts.conf, replaced below)
    await mkdir(join(staging, 'al2023'));
    await untarBrotli(join(bin, 'al2023.tar.br'), join(staging, 'al2023')); // lib/libnss3.so, libnspr4.so, libexpat.so.1, …
    // The bundled font always, and the system's fonts where it has any (the UI's monospace log).
    await writeFile(
      join(staging, 'fonts.conf'),
      `<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(final, 'fonts')}</dir>\n  <cachedir>${join(final, 'fonts-cache')}</cachedir>\n  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n</fontconfig>\n`,
    );
    await rename(staging, final);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    // Another process renamed its complete copy into place first: use that one.
    if (existsSync(join(final, 'chromium'))) return final;
    throw err;
  }
  return final;
}

/**
 * Decompresses a .tar.br into `into`, with the system's tar (Node has brotli, not tar). Through a
 * file, not a pipe: tar stops reading at the archive's end marker and may exit before the
 * padding after it is written, which would break the pipe.
 */
async function untarBrotli(archive: string, into: string): Promise<void> {
  const tarFile = join(into, '.unpacking.tar');
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  try {
    const tar = spawn('tar', ['-x', '-f', tarFile, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      tar.on('error', reject);
      tar.on('close', resolve);
    });
    if (code !== 0) throw new Error(`tar -x of ${archive} into ${into} exited with ${code}: ${stderr.trim()}`);
  } finally {
    await rm(tarFile, { force: true });
  }
}

function stringEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
}
