import { getQueue } from '../api.js';
import { el, formatTime, replace } from '../dom.js';

const REFRESH_MS = 2000;

/** What waits and runs per tag, and per concurrency or rate key with its limit (`millrace queue`). */
export function queuePage(root: HTMLElement): () => void {
  const tags = el('tbody');
  const keys = el('tbody');
  const note = el('p', { class: 'muted' });
  const table = (id: string, heads: string[], body: HTMLElement) =>
    el(
      'div',
      { class: 'table-wrap' },
      el('table', { id }, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), body),
    );
  root.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Queue')),
    el('h2', {}, 'Per tag'),
    table('queue-tags', ['Tag', 'Queued', 'Running'], tags),
    el('h2', {}, 'Per key'),
    table('queue-keys', ['Kind', 'Key', 'Queued', 'Running', 'Limit'], keys),
    note,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const load = async () => {
    try {
      const q = await getQueue();
      if (stopped) return;
      replace(
        tags,
        q.tags.map((t) =>
          el(
            'tr',
            { 'data-tag': t.tag },
            el('td', {}, el('span', { class: 'tag' }, t.tag)),
            el('td', {}, String(t.queued)),
            el('td', {}, String(t.running)),
          ),
        ),
      );
      replace(
        keys,
        q.keys.map((k) =>
          el(
            'tr',
            { 'data-key': `${k.kind}:${k.key}` },
            el('td', {}, k.kind),
            el('td', { class: 'mono' }, k.key),
            el('td', {}, String(k.queued)),
            el('td', {}, String(k.running)),
            el(
              'td',
              {},
              k.kind === 'rate'
                ? `${k.limit} per ${k.perMs! / 1000} s${k.nextStart !== undefined && k.nextStart > Date.now() ? `, next start ${formatTime(k.nextStart)}` : ''}`
                : k.windowMs !== undefined
                  ? `${k.limit} starts per ${k.windowMs / 1000} s`
                  : `${k.limit} at once`,
            ),
          ),
        ),
      );
      note.textContent = q.tags.length ? '' : 'Nothing queued or running.';
    } catch (err) {
      if (!stopped) note.textContent = `Could not load the queue: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
