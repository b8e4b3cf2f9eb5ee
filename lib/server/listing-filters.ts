import { UnsupportedFilterError } from '../errors-operations.js';
import type { JobFilter, JobStatus } from '../types.js';
import { HttpError } from './http-error.js';
import { MAX_LIST_PAGE, MAX_PAGE } from './limits.js';
import { queryBool, queryNumber } from './validate.js';

/**
 * The query of Windmill's job listings (`jobs/queue/list`, `jobs/completed/list`) as a store
 * filter. Every parameter is either honoured or refused with UnsupportedFilterError naming it:
 * Windmill's server ignores what it does not know, but a listing that quietly drops a filter
 * answers another question than the one asked (a script counting its failures would count
 * every job).
 */

/** Which listing: the queue (queued and running jobs) or the finished jobs. */
export type Listing = 'queue' | 'completed';

export interface ListingQuery {
  filter: JobFilter;
  /** Windmill's `include_args`: rows carry their args (null otherwise, as on Windmill). */
  includeArgs: boolean;
  /** The filters exclude every job (`status=skipped`: millrace skips none); the store need not be asked. */
  none: boolean;
}

/** Windmill's page size when `per_page` is not given. */
const DEFAULT_PER_PAGE = 30;

/** The parameters both listings honour. */
const COMMON = [
  'page',
  'per_page',
  'order_desc',
  'script_path_exact',
  'parent_job',
  'tag',
  'has_null_parent',
  'include_args',
  'all_workspaces',
  'allow_wildcards',
  'is_not_schedule',
] as const;
const HONOURED: Record<Listing, ReadonlySet<string>> = {
  queue: new Set([...COMMON, 'running']),
  completed: new Set([...COMMON, 'success', 'status', 'is_skipped']),
};

/** Why a known Windmill filter is refused, where there is more to say than "not supported". */
const REASONS: Record<string, string> = {
  created_by: 'millrace records no job creator',
  label: 'millrace jobs carry no labels',
  worker: 'not supported: the worker is in each row (millrace.worker), filter on it yourself',
  script_path_start: 'not supported: give the whole path with script_path_exact',
  script_hash: 'not supported: filter by script_path_exact',
  schedule_path: 'not supported: millrace does not record which schedule fired a job',
  trigger_path: 'not supported: millrace does not record what triggered a job',
  trigger_kind: 'not supported: millrace does not record what triggered a job',
  job_kinds: 'not supported: job_kind is in each row',
  is_flow_step: 'not supported: is_flow_step is in each row',
  args: 'not supported: millrace does not search args',
  result: 'not supported: millrace does not search results',
  suspended: 'not supported: see the waiting jobs at GET /api/w/{ws}/jobs/waiting',
  scheduled_for_before_now: 'not supported: scheduled_for is in each row',
  started_before: 'not supported: started_at is in each row',
  started_after: 'not supported: started_at is in each row',
  created_before: 'not supported: page with page and per_page',
  created_after: 'not supported: page with page and per_page',
  completed_before: 'not supported: page with page and per_page',
  completed_after: 'not supported: page with page and per_page',
  resolved: 'millrace does not record resolved failures',
  success: 'queued and running jobs have no outcome yet: list finished ones with jobs/completed/list',
  running: 'finished jobs are not running: list queued and running ones with jobs/queue/list',
};

/** The query of a listing, checked, as a store filter for the route's workspace. */
export function listingQuery(listing: Listing, query: URLSearchParams, workspace: string): ListingQuery {
  for (const name of new Set(query.keys())) {
    if (!HONOURED[listing].has(name)) {
      throw new UnsupportedFilterError(
        name,
        REASONS[name] ?? `not a filter of jobs/${listing}/list (millrace honours ${[...HONOURED[listing]].join(', ')})`,
      );
    }
  }
  // Defaults that are the same as absent parameters are accepted; the others are refused.
  refuseTrue(query, 'all_workspaces', 'millrace lists one workspace at a time');
  refuseTrue(query, 'allow_wildcards', 'tags and paths are matched exactly');
  refuseTrue(query, 'is_not_schedule', 'millrace does not record which jobs a schedule fired');

  const perPage = queryNumber(query, 'per_page', { min: 1, max: MAX_PAGE, integer: true }) ?? DEFAULT_PER_PAGE;
  const page = queryNumber(query, 'page', { min: 1, max: MAX_LIST_PAGE, integer: true }) ?? 1;
  const filter: JobFilter = {
    workspace,
    limit: perPage,
    offset: (page - 1) * perPage,
    order: queryBool(query, 'order_desc') === false ? 'oldest' : 'newest',
  };
  const scriptPath = single(query, 'script_path_exact');
  if (scriptPath !== undefined) filter.scriptPath = scriptPath;
  const tag = single(query, 'tag');
  if (tag !== undefined) filter.tag = tag;
  const parent = query.get('parent_job');
  if (parent) filter.parentJob = parent;
  if (queryBool(query, 'has_null_parent') === true) filter.rootsOnly = true;

  const status = listing === 'queue' ? queueStatuses(query) : completedStatuses(query);
  filter.status = status;
  return { filter, includeArgs: queryBool(query, 'include_args') === true, none: status.length === 0 };
}

function queueStatuses(query: URLSearchParams): JobStatus[] {
  const running = queryBool(query, 'running');
  return running === undefined ? ['queued', 'running'] : running ? ['running'] : ['queued'];
}

const WINDMILL_STATUSES = ['success', 'failure', 'canceled', 'skipped'] as const;

/** The finished statuses `success`, `status` and `is_skipped` leave, all of them applied. */
function completedStatuses(query: URLSearchParams): JobStatus[] {
  let allowed: string[] = ['success', 'failure', 'canceled'];
  const keep = (statuses: readonly string[]) => (allowed = allowed.filter((s) => statuses.includes(s)));
  const success = queryBool(query, 'success');
  // As on Windmill, success=true also matches skipped jobs, and success=false is failure or canceled.
  if (success !== undefined) keep(success ? ['success', 'skipped'] : ['failure', 'canceled']);
  const status = query.get('status');
  if (status !== null) {
    if (!(WINDMILL_STATUSES as readonly string[]).includes(status))
      throw new HttpError(
        400,
        'BAD_REQUEST',
        `query status: expected one of ${WINDMILL_STATUSES.join(', ')}, got ${JSON.stringify(status)}`,
      );
    keep([status]);
  }
  // millrace never skips a job: is_skipped=true matches none, is_skipped=false every one.
  if (queryBool(query, 'is_skipped') === true) keep([]);
  return allowed as JobStatus[];
}

/**
 * A path or tag filter. Windmill reads `a,b` as a list and `!a` as a negation; millrace's
 * store matches one value, so those forms are refused rather than taken as a literal value.
 */
function single(query: URLSearchParams, name: string): string | undefined {
  const value = query.get(name);
  if (value === null || value === '') return undefined;
  if (value.includes(',') || value.startsWith('!'))
    throw new UnsupportedFilterError(
      name,
      `lists (a,b) and negations (!a) are not supported: give one value, got ${JSON.stringify(value)}`,
    );
  return value;
}

function refuseTrue(query: URLSearchParams, name: string, reason: string): void {
  if (queryBool(query, name) === true) throw new UnsupportedFilterError(name, `true is not supported: ${reason}`);
}
