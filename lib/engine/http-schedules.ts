import type { ApiClient } from '../http/api-client.js';
import { fromWireSchedule, type NewScheduleBody, type WireSchedule } from '../http/schedules.js';
import { encode } from '../serialize.js';
import type { Json, ScheduleView } from '../types.js';
import type { CreateScheduleRequest, Schedules } from './schedules.js';

/** The schedule verbs over a server's Windmill-shaped schedule routes. */
export class HttpSchedules implements Schedules {
  constructor(
    private readonly client: ApiClient,
    private readonly workspace: string,
  ) {}

  async create(request: CreateScheduleRequest): Promise<ScheduleView> {
    const args: Record<string, Json> = {};
    for (const [k, v] of Object.entries(request.args ?? {})) if (v !== undefined) args[k] = encode(v, `args.${k}`);
    // A schedule is named after its path when no name is given; Windmill's body needs one.
    const name = request.name ?? request.path;
    const body: NewScheduleBody = {
      path: name,
      schedule: request.cron,
      script_path: request.path,
      args,
      ...(request.timezone !== undefined && { timezone: request.timezone }),
      ...(request.kind !== undefined && { is_flow: request.kind === 'flow' }),
    };
    await this.client.json<string>('POST', this.client.ws('schedules/create'), body);
    return this.get(name);
  }

  async list(): Promise<ScheduleView[]> {
    const wire = await this.client.json<WireSchedule[]>('GET', this.client.ws('schedules/list'));
    return wire.map((w) => fromWireSchedule(w, this.workspace));
  }

  async get(name: string): Promise<ScheduleView> {
    return fromWireSchedule(
      await this.client.json<WireSchedule>('GET', this.client.ws(`schedules/get/${namePath(name)}`)),
      this.workspace,
    );
  }

  async setPaused(name: string, paused: boolean): Promise<ScheduleView> {
    const wire = await this.client.json<WireSchedule>(
      'POST',
      this.client.ws(`schedules/setenabled/${namePath(name)}`),
      { enabled: !paused },
    );
    return fromWireSchedule(wire, this.workspace);
  }

  async delete(name: string): Promise<void> {
    await this.client.json<string>('DELETE', this.client.ws(`schedules/delete/${namePath(name)}`));
  }
}

/** A name keeps its slashes in the URL (the routes take the rest of the path). */
function namePath(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
