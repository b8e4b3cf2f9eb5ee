import type { RouteEntry } from './route-table.js';
import { eventRoutes } from './routes-events.js';
import { millraceRoutes } from './routes-millrace.js';
import { progressRoutes } from './routes-progress.js';
import { scheduleRoutes } from './routes-schedules.js';
import { taskCallRoutes } from './routes-task-calls.js';
import { tokenRoutes } from './routes-tokens.js';
import { windmillReadRoutes } from './routes-windmill-reads.js';
import { windmillRoutes } from './routes-windmill.js';
import { workerRoutes } from './routes-worker.js';

/** Every route table the server mounts, in order: the first route that matches a path answers it. */
export const ROUTE_TABLES: readonly (readonly RouteEntry[])[] = [
  windmillRoutes,
  taskCallRoutes,
  millraceRoutes,
  workerRoutes,
  tokenRoutes,
  eventRoutes,
  scheduleRoutes,
  progressRoutes,
  windmillReadRoutes,
];
