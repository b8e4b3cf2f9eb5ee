import { listWorkers } from '../api.js';
import { el, formatTime, jobLink, replace } from '../dom.js';

const REFRESH_MS = 2000;

/** The live workers (heard from in the last 30 s): their tags and the jobs they run now. */
export function workersPage(root: HTMLElement): () => void {
  const body = el('tbody');
  const note = el('p', { class: 'muted' });
  root.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Workers')),
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { id: 'workers' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['Worker', 'Host', 'Tags', 'Started', 'Last seen', 'Current jobs'].map((h) => el('th', {}, h)),
          ),
        ),
        body,
      ),
    ),
    note,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async () => {
    try {
      const { workers } = await listWorkers();
      if (stopped) return;
      replace(
        body,
        workers.map((w) =>
          el(
            'tr',
            { 'data-worker': w.id },
            el('td', { class: 'mono' }, w.id),
            el('td', {}, w.hostname),
            el(
              'td',
              {},
              w.tags === 'all'
                ? el('span', { class: 'tag' }, 'every tag')
                : w.tags.map((t) => el('span', { class: 'tag' }, t)),
            ),
            el('td', { class: 'nowrap' }, formatTime(w.startedAt)),
            el('td', { class: 'nowrap' }, formatTime(w.lastSeen)),
            el(
              'td',
              {},
              w.jobs.length ? w.jobs.flatMap((id) => [jobLink(id), ' ']) : el('span', { class: 'muted' }, 'idle'),
            ),
          ),
        ),
      );
      note.textContent = workers.length
        ? ''
        : 'No live worker. Start one with `millrace worker --server URL --token T --tag …`.';
    } catch (err) {
      if (!stopped) note.textContent = `Could not load the workers: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
