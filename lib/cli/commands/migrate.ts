import type { Command } from 'commander';
import { migrateStore } from '../../store/open.js';
import { projectRoot, withRootAndStore } from '../options.js';

interface MigrateOptions {
  root?: string;
  db?: string;
  json?: boolean;
}

export function migrateCommand(program: Command): void {
  withRootAndStore(
    program
      .command('migrate')
      .summary("bring the store's schema up to date")
      .description(
        "Apply the store's pending migrations, each in its own transaction, and exit. Servers do this at\n" +
          'start too; run it on its own to upgrade a PostgreSQL database before rolling out new servers.',
      )
      .option('--json', 'print machine-readable JSON'),
  ).action(async (options: MigrateOptions) => {
    const report = await migrateStore({ db: options.db, root: projectRoot(options) });
    if (options.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else if (report.applied.length > 0) {
      process.stdout.write(
        `${report.store}: applied ${report.applied.length === 1 ? 'migration' : 'migrations'} ${report.applied.join(', ')}; schema at version ${report.version}\n`,
      );
    } else {
      process.stdout.write(`${report.store}: up to date, schema at version ${report.version}\n`);
    }
  });
}
