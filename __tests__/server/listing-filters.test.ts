import { describe, expect, it } from '@jest/globals';
import { UnsupportedFilterError } from '../../lib/errors-operations.js';
import { HttpError } from '../../lib/server/http-error.js';
import { listingQuery } from '../../lib/server/listing-filters.js';

const q = (query: string) => new URLSearchParams(query);

/** The query parameters windmill-client 1.818 sends, per listing (JobService.listQueue / listCompletedJobs). */
const SDK_PARAMS = {
  queue: [
    'order_desc',
    'created_by',
    'parent_job',
    'worker',
    'script_path_exact',
    'script_path_start',
    'schedule_path',
    'trigger_path',
    'trigger_kind',
    'script_hash',
    'started_before',
    'started_after',
    'success',
    'scheduled_for_before_now',
    'job_kinds',
    'suspended',
    'running',
    'args',
    'result',
    'allow_wildcards',
    'tag',
    'page',
    'per_page',
    'all_workspaces',
    'is_not_schedule',
  ],
  completed: [
    'order_desc',
    'created_by',
    'label',
    'worker',
    'parent_job',
    'script_path_exact',
    'script_path_start',
    'schedule_path',
    'script_hash',
    'started_before',
    'started_after',
    'success',
    'status',
    'job_kinds',
    'args',
    'result',
    'allow_wildcards',
    'tag',
    'page',
    'per_page',
    'is_skipped',
    'resolved',
    'is_flow_step',
    'has_null_parent',
    'is_not_schedule',
  ],
} as const;

/** A value each parameter may take on Windmill, the one most likely to be honoured. */
function sample(name: string): string {
  if (['page', 'per_page'].includes(name)) return '2';
  if (name === 'status') return 'failure';
  if (name === 'order_desc') return 'false'; // true is the default
  if (
    [
      'success',
      'running',
      'suspended',
      'scheduled_for_before_now',
      'allow_wildcards',
      'all_workspaces',
      'is_not_schedule',
      'is_skipped',
      'resolved',
      'is_flow_step',
      'has_null_parent',
    ].includes(name)
  )
    return 'true';
  return 'x';
}

describe('listingQuery: a Windmill listing query as a store filter', () => {
  it('defaults to Windmill’s: 30 a page, the first, newest first; the queue is queued and running jobs', () => {
    expect(listingQuery('queue', q(''), 'ws')).toEqual({
      filter: { workspace: 'ws', limit: 30, offset: 0, order: 'newest', status: ['queued', 'running'] },
      includeArgs: false,
      none: false,
    });
    expect(listingQuery('completed', q(''), 'ws').filter.status).toEqual(['success', 'failure', 'canceled']);
  });

  it('maps page, order, path, tag, parent, roots, running and args', () => {
    expect(
      listingQuery(
        'queue',
        q(
          'page=3&per_page=7&order_desc=false&script_path_exact=a/b&tag=gpu&parent_job=p1&has_null_parent=true&running=false&include_args=true',
        ),
        'ws',
      ),
    ).toEqual({
      filter: {
        workspace: 'ws',
        limit: 7,
        offset: 14,
        order: 'oldest',
        scriptPath: 'a/b',
        tag: 'gpu',
        parentJob: 'p1',
        rootsOnly: true,
        status: ['queued'],
      },
      includeArgs: true,
      none: false,
    });
    expect(listingQuery('queue', q('running=true'), 'ws').filter.status).toEqual(['running']);
    // has_null_parent=false is no filter, as on Windmill.
    expect(listingQuery('queue', q('has_null_parent=false'), 'ws').filter.rootsOnly).toBeUndefined();
  });

  it('applies success, status and is_skipped together, as Windmill does', () => {
    const statuses = (query: string) => listingQuery('completed', q(query), 'ws');
    expect(statuses('success=true').filter.status).toEqual(['success']);
    expect(statuses('success=false').filter.status).toEqual(['failure', 'canceled']);
    expect(statuses('status=canceled').filter.status).toEqual(['canceled']);
    expect(statuses('success=false&status=failure').filter.status).toEqual(['failure']);
    expect(statuses('success=true&status=failure').none).toBe(true);
    expect(statuses('status=skipped').none).toBe(true);
    expect(statuses('is_skipped=true').none).toBe(true);
    expect(statuses('is_skipped=false').none).toBe(false);
    expect(() => statuses('status=done')).toThrow(HttpError);
  });

  it.each(['queue', 'completed'] as const)(
    'every parameter windmill-client sends to the %s listing is honoured or refused by name, never ignored',
    (listing) => {
      const refused: string[] = [];
      for (const name of SDK_PARAMS[listing]) {
        try {
          const before = listingQuery(listing, q(''), 'ws');
          const after = listingQuery(listing, q(`${name}=${sample(name)}`), 'ws');
          // Honoured: the parameter changed the filter (or the rows' args); else it would be ignored.
          expect({ name, same: JSON.stringify(after) === JSON.stringify(before) }).toEqual({ name, same: false });
        } catch (err) {
          if (!(err instanceof UnsupportedFilterError)) throw err;
          expect(err.filter).toBe(name);
          expect(err.message).toMatch(new RegExp(`^query ${name}: `));
          refused.push(name);
        }
      }
      expect(refused.sort()).toEqual(
        listing === 'queue'
          ? [
              'all_workspaces',
              'allow_wildcards',
              'args',
              'created_by',
              'is_not_schedule',
              'job_kinds',
              'result',
              'schedule_path',
              'scheduled_for_before_now',
              'script_hash',
              'script_path_start',
              'started_after',
              'started_before',
              'success',
              'suspended',
              'trigger_kind',
              'trigger_path',
              'worker',
            ]
          : [
              'allow_wildcards',
              'args',
              'created_by',
              'is_flow_step',
              'is_not_schedule',
              'job_kinds',
              'label',
              'resolved',
              'result',
              'schedule_path',
              'script_hash',
              'script_path_start',
              'started_after',
              'started_before',
              'worker',
            ],
      );
    },
  );

  it('refuses a parameter Windmill does not know, naming the ones millrace honours', () => {
    expect(() => listingQuery('completed', q('per_pgae=10'), 'ws')).toThrow(
      /^query per_pgae: not a filter of jobs\/completed\/list \(millrace honours page, per_page, order_desc, script_path_exact, parent_job, tag, has_null_parent, include_args, all_workspaces, allow_wildcards, is_not_schedule, success, status, is_skipped\)$/,
    );
  });
});
