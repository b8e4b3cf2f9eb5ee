import type { Command } from 'commander';
import { createToken } from '../../server/auth.js';
import { openStore } from '../../store/open.js';
import { DEFAULT_WORKSPACE } from '../../types.js';
import { projectRoot, withRootAndStore } from '../options.js';

interface TokenOptions {
  workspace: string;
  workerOnly?: boolean;
  label?: string;
  root?: string;
  db?: string;
  dbPool?: number;
  json?: boolean;
}

export function tokenCommand(program: Command): void {
  const token = program.command('token').summary('manage API tokens').description('Manage the tokens a server accepts.');
  withRootAndStore(
    token
      .command('create')
      .summary('create a token')
      .description('Create a token for one workspace, in the server\'s store. The token is printed once; only its hash is kept.')
      .option('--workspace <name>', 'the workspace it belongs to', DEFAULT_WORKSPACE)
      .option('--worker-only', 'reach only the worker routes (for `millrace worker`)')
      .option('--label <text>', 'a note of what it is for')
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: TokenOptions) => {
    if (!/^[\w-]{1,64}$/.test(options.workspace)) {
      throw new Error(`--workspace: expected letters, digits, - or _, got ${JSON.stringify(options.workspace)}`);
    }
    const { store } = await openStore({ db: options.db, root: projectRoot(options), poolSize: options.dbPool, listen: false });
    try {
      const scope = options.workerOnly ? 'worker' : 'user';
      const created = await createToken(store, { workspace: options.workspace, scope, label: options.label ?? `${scope} token` });
      process.stdout.write(options.json ? `${JSON.stringify({ token: created.token, workspace: options.workspace, scope })}\n` : `${created.token}\n`);
    } finally {
      await store.close();
    }
  });
}
