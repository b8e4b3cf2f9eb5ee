import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { parseServerUrl, ServerUnreachableError, undici } from './api-client.js';
import { IDENTITY_PATH, identityProof, rootId, type IdentityReply } from './identity.js';
import { readTokenFile, tokenFilePath } from './token-file.js';
import type { ServerToken } from './token-source.js';

export interface ServerTokenOptions {
  /** The server's base URL. */
  server: string;
  /** A token from the caller (--token, configure()) or MILLRACE_TOKEN, with its source: it wins. */
  given: ServerToken | undefined;
  /** The client's project root, whose token file may serve a local server of the same root. */
  root: string;
  /** How the caller passes a token, for the message when there is none. @default '--token or MILLRACE_TOKEN' */
  howToPass?: string;
}

/**
 * The token to send to `server`: the one given, else the token file of `root` when the
 * server is on this machine (127.0.0.0/8, localhost, [::1]), serves the same root, and
 * proves it holds that token (http/identity.ts). Nothing is sent to a server that does not,
 * and the error says why the file was not used.
 */
export async function resolveServerToken(options: ServerTokenOptions): Promise<ServerToken> {
  if (options.given) return options.given;
  const url = parseServerUrl(options.server);
  const howToPass = options.howToPass ?? '--token or MILLRACE_TOKEN';
  const refuse = (reason: string) =>
    new ConfigError(`No token for the server ${url.origin}: ${reason}. Pass one with ${howToPass}`);
  if (!isLoopback(url)) {
    throw refuse(
      'a server not on this machine needs a token (the admin token it printed at its first start, or one from `millrace token create` on its store)',
    );
  }
  const path = tokenFilePath(options.root);
  const file = readTokenFile(options.root);
  if (!file) {
    throw refuse(
      `no token was given and there is no token file at ${path} (a \`millrace dev\` started in ${options.root} writes it)`,
    );
  }
  const ours = rootId(options.root);
  if (file.root_id !== ours) {
    throw refuse(
      `the token file at ${path} was written for the root ${file.root}, not ${options.root} (a copied directory?), so it was not used`,
    );
  }
  const nonce = randomBytes(16).toString('hex');
  const identity = await askIdentity(url, nonce);
  if (!identity) {
    throw refuse(
      `the token file at ${path} was not used: the server at ${url.origin} does not say which root it serves (not a millrace server, or an older one)`,
    );
  }
  if (identity.root_id !== file.root_id) {
    throw refuse(
      `the token file at ${path} is for the server of ${file.root} (root id ${file.root_id}, last at ${file.url}), ` +
        `and the server at ${url.origin} serves another root (root id ${identity.root_id}), so it was not sent`,
    );
  }
  if (!identity.proof || !sameHex(identity.proof, identityProof(file.token, nonce))) {
    throw refuse(
      `the server at ${url.origin} serves this root but does not hold the token of the token file at ${path} ` +
        '(started with another MILLRACE_TOKEN?), so it was not sent',
    );
  }
  return { token: file.token, source: { kind: 'file', path } };
}

/** Whether the URL names this machine: 127.0.0.0/8, localhost (and its subdomains), [::1]. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return host === 'localhost' || host.endsWith('.localhost') || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/** The server's identity, or undefined when it has no such route. */
async function askIdentity(url: URL, nonce: string): Promise<IdentityReply | undefined> {
  let res;
  try {
    res = await undici().request(`${url.origin}${IDENTITY_PATH}?nonce=${nonce}`, {
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  } catch (err) {
    throw new ServerUnreachableError(`Cannot reach the millrace server at ${url.origin}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const text = await res.body.text();
  if (res.statusCode !== 200) return undefined;
  try {
    const reply = JSON.parse(text) as Partial<IdentityReply>;
    return typeof reply.root_id === 'string'
      ? { root_id: reply.root_id, proof: typeof reply.proof === 'string' ? reply.proof : undefined }
      : undefined;
  } catch {
    return undefined;
  }
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
