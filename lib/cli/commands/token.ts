import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { createToken } from '../../server/auth.js';
import { revokeTokenRef, toListing, type TokenListing } from '../../server/token-admin.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { DEFAULT_WORKSPACE } from '../../types.js';
import { projectRoot, withRootAndStore } from '../options.js';

interface StoreOptions {
  root?: string;
  db?: string;
  dbPool?: number;
  json?: boolean;
}

interface CreateOptions extends StoreOptions {
  workspace: string;
  workerOnly?: boolean;
  label?: string;
}

/** Runs `fn` over the server's store (the tokens live there, not in a server process). */
async function withStore<T>(options: StoreOptions, fn: (store: Store) => Promise<T>): Promise<T> {
  const { store } = await openStore({
    db: options.db,
    root: projectRoot(options),
    poolSize: options.dbPool,
    listen: false,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function tokenCommand(program: Command): void {
  const token = program
    .command('token')
    .summary('manage API tokens')
    .description('Manage the tokens a server accepts: create, list, revoke.');
  withRootAndStore(
    token
      .command('create')
      .summary('create a token')
      .description(
        "Create a token for one workspace, in the server's store. The token is printed once; only its hash is kept.",
      )
      .option('--workspace <name>', 'the workspace it belongs to', DEFAULT_WORKSPACE)
      .option('--worker-only', 'reach only the worker routes (for `millrace worker`)')
      .option('--label <text>', 'a note of what it is for')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: CreateOptions) => {
    if (!/^[\w-]{1,64}$/.test(options.workspace)) {
      throw new ConfigError(
        `--workspace: expected letters, digits, - or _ (1 to 64), got ${JSON.stringify(options.workspace)}`,
      );
    }
    await withStore(options, async (store) => {
      const scope = options.workerOnly ? 'worker' : 'user';
      const created = await createToken(store, {
        workspace: options.workspace,
        scope,
        label: options.label ?? `${scope} token`,
      });
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ token: created.token, workspace: options.workspace, scope })}\n`
          : `${created.token}\n`,
      );
    });
  });

  withRootAndStore(
    token
      .command('list')
      .summary('list tokens')
      .description(
        'List the tokens of the store, revoked ones included. Secrets are never shown: a token is named by its id or its first characters.',
      )
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: StoreOptions) => {
    const tokens = (await withStore(options, (store) => store.listTokens())).map(toListing);
    if (options.json) {
      process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
      return;
    }
    if (tokens.length === 0) process.stdout.write('no tokens\n');
    for (const t of tokens) process.stdout.write(`${formatListing(t)}\n`);
  });

  withRootAndStore(
    token
      .command('revoke')
      .summary('revoke a token')
      .description(
        'Revoke a token, named by its id or prefix as `token list` shows them (or by the whole token). ' +
          'Every server on this store refuses it within a second.',
      )
      .argument('<token>', 'the id (at least 6 characters of it), the prefix, or the whole token')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (ref: string, options: StoreOptions) => {
    const { record, revoked } = await withStore(options, (store) => revokeTokenRef(store, ref));
    const listing = toListing(record);
    if (options.json) process.stdout.write(`${JSON.stringify({ ...listing, was_revoked_before: !revoked })}\n`);
    else if (revoked) process.stdout.write(`revoked token ${listing.id} (${listing.label})\n`);
    else process.stdout.write(`token ${listing.id} (${listing.label}) was already revoked at ${listing.revoked_at}\n`);
  });
}

function formatListing(t: TokenListing): string {
  const state = t.revoked_at ? `revoked ${t.revoked_at}` : 'active';
  const used = t.last_used_at ? `last used ${t.last_used_at}` : 'never used';
  const where = t.scope === 'admin' ? 'every workspace' : `workspace ${t.workspace}`;
  return [
    t.id,
    t.token_prefix ?? '(no prefix)',
    t.scope.padEnd(9),
    where,
    JSON.stringify(t.label),
    `created ${t.created_at}`,
    used,
    state,
  ].join('  ');
}
