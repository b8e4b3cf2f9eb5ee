/**
 * Where the token a client sends came from, so that a refusal can say which token was tried
 * and what to change. Precedence: the caller's own (--token, configure({ token })) >
 * MILLRACE_TOKEN > the token file of a local server of the same root (server-token.ts).
 */
export type TokenSource =
  | { kind: 'flag' }
  | { kind: 'configure' }
  | { kind: 'env' }
  | { kind: 'file'; path: string }
  /** Passed in code to an ApiClient / HttpEngine (tests, embedders). */
  | { kind: 'option' };

export interface ServerToken {
  token: string;
  source: TokenSource;
}

export function describeTokenSource(source: TokenSource): string {
  switch (source.kind) {
    case 'flag':
      return 'the --token flag';
    case 'configure':
      return 'configure({ token })';
    case 'env':
      return 'MILLRACE_TOKEN';
    case 'file':
      return `the token file at ${source.path}`;
    case 'option':
      return 'the token option';
  }
}

/** A few leading characters of a token, enough to tell tokens apart, never enough to use one. */
export function tokenPrefix(token: string): string {
  return `${token.slice(0, Math.min(7, Math.floor(token.length / 3)))}…`;
}

/** What to do when the server refused a token from `source`. */
export function refusalFix(source: TokenSource): string {
  const make =
    'the admin token the server made at its first start, or one from `millrace token create` run on its store';
  switch (source.kind) {
    case 'flag':
      return `Pass --token a token this server accepts (${make})`;
    case 'configure':
      return `Pass configure({ token }) a token this server accepts (${make})`;
    case 'env':
      return (
        `Set MILLRACE_TOKEN to a token this server accepts (${make}); ` +
        'for a `millrace dev` on this machine, unset MILLRACE_TOKEN and the token file of its root is used'
      );
    case 'file':
      return `The token file is stale: restart \`millrace dev\` in this root to rewrite it, or pass --token / set MILLRACE_TOKEN (${make})`;
    case 'option':
      return `Pass a token this server accepts (${make})`;
  }
}
