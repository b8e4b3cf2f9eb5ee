import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UI_CONTENT_SECURITY_POLICY } from './security-headers.js';

/**
 * Serves the web UI: the files `npm run build` bundles from lib/ui/ into dist/ui/. The UI is a
 * single page (its routes live after `#`), so `/` is index.html and every other path is a file
 * of dist/ui or a 404. Nothing is fetched from elsewhere: the bundle holds all it needs.
 */

// From dist/server/ and from lib/server/ (tests run the sources) alike, dist/ui is two levels up.
const UI_DIR = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Whether a request is for the UI rather than the API. */
export function isUiRequest(method: string, pathname: string): boolean {
  return (method === 'GET' || method === 'HEAD') && pathname !== '/api' && !pathname.startsWith('/api/');
}

/** Answers a UI request: a file of dist/ui, or a 404 that says why. */
export async function serveUi(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
  const name = pathname === '/' ? 'index.html' : pathname.slice(1);
  const file = normalize(UI_DIR + name);
  const type = TYPES[extname(file)];
  let body: Buffer | undefined;
  if (file.startsWith(UI_DIR) && !file.slice(UI_DIR.length).split(sep).includes('..') && type) {
    body = await readFile(file).catch(() => undefined);
  }
  if (!body) {
    const text =
      name === 'index.html'
        ? 'The web UI is not built: run `npm run build` in the millrace package.\n'
        : `No UI file ${pathname}\n`;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
    return;
  }
  res.writeHead(200, {
    'Content-Type': type,
    'Content-Length': body.length,
    // The bundle's file names carry no hash: the browser must not keep a previous build.
    'Cache-Control': 'no-cache',
    'Content-Security-Policy': UI_CONTENT_SECURITY_POLICY,
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
