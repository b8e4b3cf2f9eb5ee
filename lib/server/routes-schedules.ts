import { ArgsError } from '../errors.js';
import { ScheduleError } from '../errors-operations.js';
import { isFlowRequest } from '../flow/submission.js';
import { StoreSchedules } from '../engine/schedules.js';
import { toWireSchedule } from '../http/schedules.js';
import type { ScheduleView } from '../types.js';
import { HttpError } from './http-error.js';
import type { Reply, RouteContext } from './router.js';
import type { RouteEntry } from './route-table.js';
import type { ServerDeps } from './server.js';
import { object, optionalString, string } from './validate.js';

/** Windmill's names for the fields a ScheduleError names. */
const WIRE_FIELD: Record<string, string> = {
  cron: 'schedule',
  timezone: 'timezone',
  args: 'args',
  name: 'path',
  path: 'script_path',
};

function schedulesOf(ctx: RouteContext, deps: ServerDeps): StoreSchedules {
  return new StoreSchedules({
    store: deps.store,
    root: deps.root,
    workspace: ctx.params.ws,
    clock: deps.coordinator.clock,
    changed: () => void deps.scheduler?.refresh(),
  });
}

/** A bad schedule is a 400 naming the body's field, in Windmill's names. */
async function asBadRequest<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    // Args that do not fit the script's main are the body's args, refused before anything is stored.
    if (err instanceof ArgsError) throw new HttpError(400, err.code, `body.args: ${err.message}`, err.problems);
    if (!(err instanceof ScheduleError)) throw err;
    const field = `body.${WIRE_FIELD[err.field] ?? err.field}`;
    throw new HttpError(400, err.code, err.message.replace(new RegExp(`^${err.field}:`), `${field}:`));
  }
}

function reply(view: ScheduleView, deps: ServerDeps): Reply {
  return { status: 200, json: toWireSchedule(view, isFlowRequest({ path: view.path }, deps.root)) };
}

async function create(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const body = object(await ctx.body());
  const name = string(body, 'path');
  const cron = string(body, 'schedule');
  const scriptPath = string(body, 'script_path');
  const timezone = optionalString(body, 'timezone');
  const args = body.args === undefined || body.args === null ? {} : body.args;
  if (typeof args !== 'object' || Array.isArray(args))
    throw new HttpError(
      400,
      'BAD_SCHEDULE',
      `body.args: expected a JSON object of args by parameter name, got ${JSON.stringify(args)}`,
    );
  const isFlow = body.is_flow === undefined ? undefined : body.is_flow === true;
  const schedules = schedulesOf(ctx, deps);
  await asBadRequest(() =>
    schedules.create({
      name,
      cron,
      path: scriptPath,
      args: args as Record<string, unknown>,
      ...(timezone !== undefined && { timezone }),
      ...(isFlow !== undefined && { kind: isFlow ? 'flow' : 'script' }),
    }),
  );
  if (body.enabled === false) await schedules.setPaused(name, true);
  // Windmill answers with the schedule's path.
  return { status: 201, text: name };
}

async function list(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const views = await schedulesOf(ctx, deps).list();
  return { status: 200, json: views.map((v) => toWireSchedule(v, isFlowRequest({ path: v.path }, deps.root))) };
}

async function get(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  return reply(await schedulesOf(ctx, deps).get(ctx.params.name), deps);
}

async function setEnabled(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  const body = object(await ctx.body());
  if (typeof body.enabled !== 'boolean')
    throw new HttpError(
      400,
      'BAD_REQUEST',
      `body.enabled: expected true or false, got ${JSON.stringify(body.enabled)}`,
    );
  return reply(await schedulesOf(ctx, deps).setPaused(ctx.params.name, !body.enabled), deps);
}

async function remove(ctx: RouteContext, deps: ServerDeps): Promise<Reply> {
  await schedulesOf(ctx, deps).delete(ctx.params.name);
  return { status: 200, text: `schedule ${ctx.params.name} deleted` };
}

/** Windmill's schedule routes, in the shapes of http/schedules.ts. */
export const scheduleRoutes: readonly RouteEntry[] = [
  { method: 'POST', pattern: '/api/w/{ws}/schedules/create', audience: 'user', handler: create },
  { method: 'GET', pattern: '/api/w/{ws}/schedules/list', audience: 'user', handler: list },
  { method: 'GET', pattern: '/api/w/{ws}/schedules/get/{name*}', audience: 'user', handler: get },
  { method: 'POST', pattern: '/api/w/{ws}/schedules/setenabled/{name*}', audience: 'user', handler: setEnabled },
  { method: 'DELETE', pattern: '/api/w/{ws}/schedules/delete/{name*}', audience: 'user', handler: remove },
];
