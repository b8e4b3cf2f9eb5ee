import type { Command } from 'commander';
import { HttpSchedules } from '../../engine/http-schedules.js';
import { StoreSchedules, type Schedules } from '../../engine/schedules.js';
import { ScheduleError } from '../../errors-operations.js';
import { ApiClient } from '../../http/api-client.js';
import { openStore } from '../../store/open.js';
import { DEFAULT_WORKSPACE, type ScheduleView } from '../../types.js';
import { positiveInt, projectRoot, serverToken, serverUrl, type EngineOptions } from '../options.js';

interface ScheduleOptions extends EngineOptions {
  dbPool?: number;
}

interface CreateOptions extends ScheduleOptions {
  cron: string;
  tz?: string;
  args?: string;
  name?: string;
}

function withScheduleOptions(cmd: Command): Command {
  return cmd
    .option(
      '--root <dir>',
      'project root that script paths are resolved under (env MILLRACE_ROOT; default: the current directory)',
    )
    .option(
      '--db <file|url>',
      'a SQLite file or a postgres:// URL: the store of the servers that fire the schedules (env MILLRACE_DB; default: <root>/.millrace/millrace.db)',
    )
    .option('--db-pool <n>', 'PostgreSQL connections this process opens at most', positiveInt)
    .option('--server <url>', 'talk to a millrace server instead of the store (env MILLRACE_SERVER)')
    .option(
      '--token <token>',
      'token for the server (env MILLRACE_TOKEN; default, for a server on this machine of the same root: its token file)',
    )
    .option('--workspace <name>', 'workspace (env MILLRACE_WORKSPACE; default: default)')
    .option('--json', 'print machine-readable JSON');
}

/** Runs `fn` over the schedules of a server (--server) or of the store itself (--db): the servers on it see the change within seconds. */
async function withSchedules<T>(options: ScheduleOptions, fn: (schedules: Schedules) => Promise<T>): Promise<T> {
  const workspace = options.workspace ?? process.env.MILLRACE_WORKSPACE ?? DEFAULT_WORKSPACE;
  const server = serverUrl(options);
  if (server) {
    const { token, source } = await serverToken({ ...options, server });
    const client = new ApiClient({ server, token, tokenSource: source, workspace });
    try {
      return await fn(new HttpSchedules(client, workspace));
    } finally {
      await client.close();
    }
  }
  const root = projectRoot(options);
  const { store } = await openStore({ db: options.db, root, poolSize: options.dbPool, listen: false });
  try {
    return await fn(new StoreSchedules({ store, root, workspace }));
  } finally {
    await store.close();
  }
}

function parseArgs(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ScheduleError(
      'args',
      `--args: expected a JSON object such as '{"n": 3}', got ${JSON.stringify(text)} (${(err as Error).message})`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ScheduleError('args', `--args: expected a JSON object such as '{"n": 3}', got ${JSON.stringify(text)}`);
  }
  return value as Record<string, unknown>;
}

/** A slot may be days away: its date too, in UTC as the ISO form writes it (2026-01-05T09:00:00Z). */
function slotTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

function line(s: ScheduleView): string {
  const next = s.paused ? 'paused' : s.nextSlot === null ? 'no next slot' : `next ${slotTime(s.nextSlot)}`;
  const last = s.lastRuns[0] ? `last run ${s.lastRuns[0].id} ${s.lastRuns[0].status}` : 'no runs yet';
  return `${s.name}  ${s.path}  '${s.cron}' ${s.timezone}  ${next}  ${last}`;
}

function print(options: ScheduleOptions, value: ScheduleView | ScheduleView[], text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

export function scheduleCommand(program: Command): void {
  const schedule = program
    .command('schedule')
    .summary('run scripts and flows on a cron schedule')
    .description('Manage schedules: `millrace server` and `millrace dev` run each slot of each active schedule once.');

  withScheduleOptions(
    schedule
      .command('create')
      .summary('create a schedule')
      .argument('<path>', 'the script or flow to run (examples/heavy, flows/etl.flow.yaml)')
      .requiredOption('--cron <expr>', "five fields ('0 9 * * 1-5'), or six with seconds first ('*/10 * * * * *')")
      .option('--tz <zone>', 'the IANA time zone the cron reads in (default: UTC)')
      .option('--args <json>', 'the args of every run, as a JSON object by parameter name')
      .option('--name <name>', "the schedule's name (default: the path)"),
  ).action(async (path: string, options: CreateOptions) => {
    const args = parseArgs(options.args);
    await withSchedules(options, async (schedules) => {
      const created = await schedules.create({
        path,
        cron: options.cron,
        ...(options.tz !== undefined && { timezone: options.tz }),
        ...(args && { args }),
        ...(options.name !== undefined && { name: options.name }),
      });
      print(options, created, `created schedule ${created.name}: ${line(created)}`);
    });
  });

  withScheduleOptions(schedule.command('list').summary('list schedules, their next slots and last runs')).action(
    async (options: ScheduleOptions) => {
      await withSchedules(options, async (schedules) => {
        const all = await schedules.list();
        print(options, all, all.length === 0 ? 'no schedules' : all.map(line).join('\n'));
      });
    },
  );

  for (const [verb, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    withScheduleOptions(
      schedule
        .command(verb)
        .summary(
          paused
            ? 'pause a schedule: its slots do not run'
            : 'resume a schedule from its next slot (slots while paused do not run)',
        )
        .argument('<name>', "the schedule's name"),
    ).action(async (name: string, options: ScheduleOptions) => {
      await withSchedules(options, async (schedules) => {
        const s = await schedules.setPaused(name, paused);
        print(options, s, `${paused ? 'paused' : 'resumed'} schedule ${s.name}: ${line(s)}`);
      });
    });
  }

  withScheduleOptions(
    schedule.command('delete').summary('delete a schedule (its runs stay)').argument('<name>', "the schedule's name"),
  ).action(async (name: string, options: ScheduleOptions) => {
    await withSchedules(options, async (schedules) => {
      await schedules.delete(name);
      process.stdout.write(options.json ? `${JSON.stringify({ deleted: name })}\n` : `deleted schedule ${name}\n`);
    });
  });
}
