import { listWaiting } from '../api.js';
import { el, formatTime, jobLink, replace, statusBadge } from '../dom.js';

const REFRESH_MS = 2000;

/** `#/waiting`: the runs waiting now for an event or an approval, with what they wait for and until when. */
export function waitingPage(root: HTMLElement): () => void {
  const body = el('tbody');
  const note = el('p', { class: 'muted' });
  root.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Waiting')),
    el(
      'div',
      { class: 'table-wrap' },
      el(
        'table',
        { id: 'waiting' },
        el(
          'thead',
          {},
          el('tr', {}, ...['Job', 'Script', 'Status', 'Waits for', 'Since', 'Times out'].map((h) => el('th', {}, h))),
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
      const { waiting } = await listWaiting();
      if (stopped) return;
      replace(
        body,
        waiting.map((w) =>
          el(
            'tr',
            { 'data-job': w.job.id },
            el('td', {}, jobLink(w.job.rootJob === w.job.id ? w.job.id : w.job.rootJob)),
            el('td', {}, w.job.kind === 'task' ? w.job.entrypoint : w.job.scriptPath),
            el('td', {}, statusBadge(w.job.status)),
            el('td', { class: 'waits-for' }, w.approval !== null ? `approval "${w.approval}"` : `event "${w.event}"`),
            el('td', { class: 'nowrap' }, formatTime(w.wait.createdAt)),
            el('td', { class: 'nowrap' }, w.due_at === null ? 'never' : formatTime(w.due_at)),
          ),
        ),
      );
      note.textContent = waiting.length ? '' : 'No run waits for an event or an approval now.';
    } catch (err) {
      if (!stopped) note.textContent = `Could not load the waiting runs: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
