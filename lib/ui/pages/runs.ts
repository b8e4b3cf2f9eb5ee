import { listRuns } from '../api.js';
import { el, formatDuration, formatTime, jobLink, replace, runningTime, statusBadge } from '../dom.js';
import { JOB_STATUSES, type JobRecord, type JobStatus } from '../../types.js';

const PAGE_SIZE = 25;
const REFRESH_MS = 2000;

/**
 * Recent runs (root jobs), newest first, filtered by status, script path and tag. The filters
 * and the page live in the address (`#/runs?status=failure&before=…&limit=25`), so a view can be shared
 * and the back button works. The list refreshes itself.
 */
export function runsPage(root: HTMLElement, params: URLSearchParams): () => void {
  const status = (params.get('status') ?? '') as JobStatus | '';
  const path = params.get('path') ?? '';
  const tag = params.get('tag') ?? '';
  const before = params.get('before') ? Number(params.get('before')) : undefined;
  const pageSize = Math.min(200, Math.max(1, Number(params.get('limit')) || PAGE_SIZE));

  const statusSelect = el(
    'select',
    { name: 'status', id: 'filter-status' },
    el('option', { value: '' }, 'any status'),
    ...JOB_STATUSES.map((s) => el('option', { value: s, selected: s === status }, s)),
  );
  const pathInput = el('input', {
    type: 'text',
    name: 'path',
    id: 'filter-path',
    placeholder: 'script path, e.g. examples/heavy',
    value: path,
  });
  const tagInput = el('input', { type: 'text', name: 'tag', id: 'filter-tag', placeholder: 'tag', value: tag });
  const go = (next: Record<string, string | undefined>) => {
    const q = new URLSearchParams();
    const limit = pageSize === PAGE_SIZE ? undefined : String(pageSize);
    for (const [k, v] of Object.entries({
      status: statusSelect.value,
      path: pathInput.value.trim(),
      tag: tagInput.value.trim(),
      limit,
      ...next,
    }))
      if (v) q.set(k, v);
    location.hash = `#/runs${q.size ? `?${q}` : ''}`;
  };
  const filters = el(
    'form',
    { class: 'filters', id: 'filters' },
    statusSelect,
    pathInput,
    tagInput,
    el('button', { type: 'submit' }, 'Filter'),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    go({});
  });
  statusSelect.addEventListener('change', () => go({}));

  const body = el('tbody');
  const note = el('p', { class: 'muted', id: 'runs-note' });
  const pager = el('div', { class: 'pager' });
  root.append(
    el(
      'div',
      { class: 'page-head' },
      el('h1', {}, 'Runs'),
      el('a', { class: 'button primary', href: '#/new' }, 'New run'),
    ),
    filters,
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { class: 'runs', id: 'runs' },
        el(
          'thead',
          {},
          el('tr', {}, ...['Status', 'Run', 'Script', 'Tag', 'Started', 'Duration'].map((h) => el('th', {}, h))),
        ),
        body,
      ),
    ),
    note,
    pager,
  );

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async () => {
    try {
      const runs = await listRuns({
        status: status || undefined,
        scriptPath: path || undefined,
        tag: tag || undefined,
        before,
        limit: pageSize + 1,
      });
      if (stopped) return;
      const page = runs.slice(0, pageSize);
      replace(body, page.map(row));
      note.textContent = page.length ? '' : 'No runs match.';
      note.classList.remove('error');
      replace(
        pager,
        before !== undefined &&
          el(
            'a',
            {
              class: 'button',
              id: 'newest',
              href: '#',
              onclick: (e: Event) => (e.preventDefault(), go({ before: undefined })),
            },
            '« Newest',
          ),
        runs.length > pageSize &&
          el(
            'a',
            {
              class: 'button',
              id: 'older',
              href: '#',
              onclick: (e: Event) => (e.preventDefault(), go({ before: String(page[page.length - 1].createdAt) })),
            },
            'Older »',
          ),
      );
    } catch (err) {
      if (stopped) return;
      note.textContent = `Could not load the runs: ${(err as Error).message}`;
      note.classList.add('error');
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function row(job: JobRecord): HTMLTableRowElement {
  return el(
    'tr',
    { 'data-job-id': job.id, 'data-status': job.status },
    el('td', {}, statusBadge(job.status)),
    el('td', {}, jobLink(job.id)),
    el('td', { class: 'path' }, job.scriptPath),
    el('td', {}, el('span', { class: 'tag' }, job.tag)),
    el(
      'td',
      { class: 'nowrap' },
      formatTime(job.startedAt ?? job.createdAt),
      job.startedAt === null ? el('span', { class: 'muted' }, ' (created)') : null,
    ),
    el('td', { class: 'nowrap num' }, formatDuration(runningTime(job))),
  );
}
