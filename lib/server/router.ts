import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from './auth.js';

/** What a route handler gets: the parsed request, its path parameters and who is asking. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  query: URLSearchParams;
  principal: Principal;
  /** Aborts when the client goes away: long polls and streams stop then. */
  signal: AbortSignal;
  /** The request body, parsed as JSON (undefined when there is none). Limited in size. */
  body(): Promise<unknown>;
}

/** A handler returns a reply, or undefined when it wrote the response itself (a stream). */
export type Reply = { status: number; json: unknown } | { status: number; text: string } | undefined;
export type Handler = (ctx: RouteContext) => Promise<Reply>;

/**
 * Which tokens may use a route: any token of the workspace, or worker tokens too; or none at all
 * (`signed`: the URL carries its own permission, a signature the handler checks).
 */
export type Audience = 'user' | 'worker' | 'signed';

interface Route {
  method: string;
  segments: string[];
  audience: Audience;
  handler: Handler;
}

/**
 * Routes by method and path pattern. `{name}` matches one segment; a final `{name*}` matches
 * the rest of the path (script paths contain slashes).
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, audience: Audience, handler: Handler): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), audience, handler });
    return this;
  }

  match(
    method: string,
    path: string,
  ): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
    const parts = path.split('/').filter(Boolean).map(safeDecode);
    const allowed: string[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    return allowed.length ? { allowed } : undefined;
  }
}

function matchSegments(segments: string[], parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (seg.startsWith('{') && seg.endsWith('*}')) {
      if (i >= parts.length) return undefined;
      params[seg.slice(1, -2)] = parts.slice(i).join('/');
      return params;
    }
    if (i >= parts.length) return undefined;
    if (seg.startsWith('{')) params[seg.slice(1, -1)] = parts[i];
    else if (seg !== parts[i]) return undefined;
  }
  return segments.length === parts.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
