import type { Audience, Reply, RouteContext, Router } from './router.js';
import type { ServerDeps } from './server.js';

/** A route's handler: a named function of the request and the server's parts (store, coordinator, root). */
export type RouteHandler = (ctx: RouteContext, deps: ServerDeps) => Promise<Reply>;

/** One row of a route table: method, path pattern (see Router), who may call it, and its handler. */
export interface RouteEntry {
  method: 'GET' | 'POST' | 'DELETE';
  pattern: string;
  audience: Audience;
  handler: RouteHandler;
}

/** Adds a table's routes to the router, in order (the first route that matches a path answers it). */
export function mountRoutes(router: Router, deps: ServerDeps, table: readonly RouteEntry[]): void {
  for (const route of table) router.add(route.method, route.pattern, route.audience, (ctx) => route.handler(ctx, deps));
}
