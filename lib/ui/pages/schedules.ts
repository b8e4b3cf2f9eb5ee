import { listSchedules, setScheduleEnabled } from '../api.js';
import { el, formatTime, jobLink, replace, statusBadge } from '../dom.js';
import type { WireSchedule } from '../../http/schedules.js';

const REFRESH_MS = 2000;

/** The schedules: what each runs, its cron, its next slot and its last runs; pause and resume. */
export function schedulesPage(root: HTMLElement): () => void {
  const body = el('tbody');
  const note = el('p', { class: 'muted' });
  const heads = ['Name', 'Runs', 'Cron', 'Next', 'Last runs', ''];
  root.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Schedules')),
    el(
      'div',
      { class: 'table-wrap' },
      el('table', { id: 'schedules' }, el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), body),
    ),
    note,
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const toggle = async (s: WireSchedule, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await setScheduleEnabled(s.path, !s.enabled);
      await load();
    } catch (err) {
      note.textContent = `Could not ${s.enabled ? 'pause' : 'resume'} ${s.path}: ${(err as Error).message}`;
      button.disabled = false;
    }
  };
  const row = (s: WireSchedule) => {
    const button = el(
      'button',
      { type: 'button', class: 'secondary', 'data-action': s.enabled ? 'pause' : 'resume' },
      s.enabled ? 'Pause' : 'Resume',
    );
    button.addEventListener('click', () => void toggle(s, button));
    return el(
      'tr',
      { 'data-schedule': s.path },
      el('td', { class: 'mono' }, s.path),
      el('td', {}, el('a', { href: `#/runs?path=${encodeURIComponent(s.script_path)}` }, s.script_path)),
      el(
        'td',
        { class: 'nowrap' },
        el('span', { class: 'mono' }, s.schedule),
        ' ',
        el('span', { class: 'muted' }, s.timezone),
      ),
      el(
        'td',
        { class: 'nowrap', 'data-next': '' },
        s.enabled
          ? s.next_fire
            ? formatTime(Date.parse(s.next_fire))
            : 'none'
          : el('span', { class: 'muted' }, 'paused'),
      ),
      el(
        'td',
        { 'data-runs': '' },
        s.last_runs.length
          ? s.last_runs.flatMap((r) => [statusBadge(r.status), ' ', jobLink(r.id), ' '])
          : el('span', { class: 'muted' }, 'none yet'),
      ),
      el('td', {}, button),
    );
  };
  const load = async () => {
    clearTimeout(timer);
    try {
      const schedules = await listSchedules();
      if (stopped) return;
      replace(body, schedules.map(row));
      note.textContent = schedules.length
        ? ''
        : "No schedules. Make one with `millrace schedule create <path> --cron '0 9 * * 1-5'`.";
    } catch (err) {
      if (!stopped) note.textContent = `Could not load the schedules: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(() => void load(), REFRESH_MS);
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
