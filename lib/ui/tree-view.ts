import { jobName, type JobRecord } from '../types.js';
import { el, formatDuration, jobLink, runningTime, statusBadge } from './dom.js';

/** Above this many descendants the tree shows the first ones and a button for the rest. */
const FIRST_NODES = 300;

/** The run's descendants as a nested list: name, id, status, duration; each links to its job. */
export function treeView(root: JobRecord, descendants: JobRecord[], showAll = false): HTMLElement {
  const children = new Map<string, JobRecord[]>();
  for (const j of descendants) {
    const list = children.get(j.parentJob ?? '') ?? [];
    list.push(j);
    children.set(j.parentJob ?? '', list);
  }
  let budget = showAll ? Infinity : FIRST_NODES;
  const list = (parent: string): HTMLElement | null => {
    const kids = children.get(parent);
    if (!kids || budget <= 0) return null;
    const items: HTMLElement[] = [];
    for (const j of kids) {
      if (budget-- <= 0) break;
      items.push(
        el(
          'li',
          { 'data-job-id': j.id },
          el(
            'span',
            { class: 'node' },
            statusBadge(j.status),
            ' ',
            el('strong', {}, jobName(j)),
            ' ',
            jobLink(j.id),
            ' ',
            el('span', { class: 'muted' }, formatDuration(runningTime(j))),
          ),
          list(j.id),
        ),
      );
    }
    return el('ul', {}, items);
  };
  const section = el(
    'section',
    { class: 'tree', id: 'tree' },
    el('div', { class: 'section-head' }, el('h2', {}, 'Tree')),
  );
  const body = el(
    'div',
    { class: 'tree-body' },
    el(
      'span',
      { class: 'node' },
      statusBadge(root.status),
      ' ',
      el('strong', {}, jobName(root)),
      ' ',
      jobLink(root.id),
    ),
    list(root.id),
  );
  section.append(body);
  if (!descendants.length) section.append(el('p', { class: 'muted' }, 'No child jobs.'));
  if (!showAll && descendants.length > FIRST_NODES) {
    const more = el('button', { type: 'button' }, `Show all ${descendants.length} jobs`);
    more.addEventListener('click', () => section.replaceWith(treeView(root, descendants, true)));
    section.append(more);
  }
  return section;
}
