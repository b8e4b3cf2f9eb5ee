import { jobName, type JobRecord } from '../types.js';
import { el, formatDuration, formatTime, replace, shortId } from './dom.js';

/**
 * The run as a Gantt chart: one row per descendant, nested ones indented under their parent;
 * for each, a queued segment (scheduled → started) and a running segment (started → completed,
 * or now), coloured by status; a time axis; details on hover; a click opens the job.
 *
 * Rows are virtualised: only those in view (and a few around) are in the DOM, so a run with
 * thousands of children scrolls as smoothly as one with three.
 */

const ROW_HEIGHT = 24;
const OVERSCAN = 8;
/** Above this many rows the chart scrolls instead of growing. */
const MAX_VISIBLE_ROWS = 18;

interface Row {
  job: JobRecord;
  depth: number;
}

export class Timeline {
  readonly element: HTMLElement;
  private readonly axis = el('div', { class: 'tl-axis' });
  private readonly grid = el('div', { class: 'tl-grid' });
  private readonly rowsLayer = el('div', { class: 'tl-rows' });
  private readonly spacer = el('div', { class: 'tl-spacer' }, this.grid, this.rowsLayer);
  private readonly scroller = el('div', { class: 'tl-scroll', id: 'timeline-rows' }, this.spacer);
  private readonly tip = el('div', { class: 'tl-tip', role: 'tooltip', hidden: true });
  private readonly summary = el('span', { class: 'muted tl-summary' });
  private rows: Row[] = [];
  private byId = new Map<string, JobRecord>();
  private t0 = 0;
  private span = 1;
  /** The time the chart was drawn for: unfinished segments end here. */
  private now = 0;
  private frame = 0;

  constructor() {
    this.element = el(
      'section',
      { class: 'timeline', id: 'timeline', hidden: true },
      el('div', { class: 'tl-legend' }, this.summary, legend()),
      el('div', { class: 'tl-head' }, el('div', { class: 'tl-label-head' }, 'Job'), this.axis),
      this.scroller,
      this.tip,
    );
    this.scroller.addEventListener('scroll', () => this.schedule());
    this.scroller.addEventListener('mousemove', (e) => this.hover(e));
    this.scroller.addEventListener('mouseleave', () => (this.tip.hidden = true));
  }

  /** Draws the run anew from its root and descendants (as `jobs_u/tree` gives them). */
  update(root: JobRecord, descendants: JobRecord[], now = Date.now()): void {
    this.element.hidden = false;
    this.now = now;
    this.rows = order(root, descendants);
    this.byId = new Map(descendants.map((j) => [j.id, j]));
    this.t0 = Math.min(root.scheduledFor, root.createdAt);
    let end = root.completedAt ?? now;
    for (const j of descendants) end = Math.max(end, j.completedAt ?? now);
    this.span = Math.max(1, end - this.t0);
    this.summary.textContent = this.rows.length
      ? `${this.rows.length} ${this.rows.length === 1 ? 'job' : 'jobs'} over ${formatDuration(this.span)}`
      : 'No child jobs (yet).';
    this.scroller.style.height = `${Math.max(1, Math.min(this.rows.length, MAX_VISIBLE_ROWS)) * ROW_HEIGHT + 2}px`;
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    this.drawAxis();
    this.drawRows(true);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawRows();
    });
  }

  private pct(t: number): number {
    return ((t - this.t0) / this.span) * 100;
  }

  private drawAxis(): void {
    const step = niceStep(this.span / 6);
    const ticks: HTMLElement[] = [];
    const lines: HTMLElement[] = [];
    for (let t = 0; t <= this.span + 1e-9; t += step) {
      const left = `${(t / this.span) * 100}%`;
      ticks.push(el('span', { class: 'tl-tick', style: `left:${left}` }, t === 0 ? '0' : `+${formatDuration(t)}`));
      lines.push(el('div', { class: 'tl-line', style: `left:${left}` }));
    }
    replace(this.axis, ticks);
    replace(this.grid, el('div', {}), el('div', { class: 'tl-grid-track' }, lines));
  }

  /** Rows in the DOM now, by index: a scroll adds the rows coming into view and drops those leaving it. */
  private readonly drawn = new Map<number, HTMLElement>();

  private drawRows(fresh = false): void {
    if (fresh) {
      this.rowsLayer.replaceChildren();
      this.drawn.clear();
    }
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || MAX_VISIBLE_ROWS * ROW_HEIGHT;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN);
    for (const [i, node] of this.drawn) {
      if (i >= first && i < last) continue;
      node.remove();
      this.drawn.delete(i);
    }
    const added = document.createDocumentFragment();
    for (let i = first; i < last; i++) {
      if (this.drawn.has(i)) continue;
      const node = this.row(this.rows[i], i);
      this.drawn.set(i, node);
      added.append(node);
    }
    this.rowsLayer.append(added);
  }

  private row({ job, depth }: Row, index: number): HTMLElement {
    const href = `#/run/${encodeURIComponent(job.id)}`;
    const name = jobName(job);
    // A job claimed by a worker but not begun yet (waiting for a slot) is still queued.
    const queuedEnd = job.startedAt ?? job.completedAt ?? this.now;
    const queued = el('div', {
      class: `tl-queued st-${job.status}`,
      style: segment(this.pct(job.scheduledFor), this.pct(queuedEnd)),
    });
    const running =
      job.startedAt !== null
        ? el('a', {
            class: `tl-bar st-${job.status}`,
            href,
            'aria-label': `${name} ${job.status}`,
            style: segment(this.pct(job.startedAt), this.pct(job.completedAt ?? this.now)),
          })
        : null;
    return el(
      'div',
      {
        class: 'tl-row',
        style: `top:${index * ROW_HEIGHT}px`,
        'data-job-id': job.id,
        'data-status': job.status,
        'data-name': name,
      },
      el(
        'a',
        { class: 'tl-label', href, style: `padding-left:${8 + depth * 14}px`, title: `${name} ${job.id}` },
        el('span', { class: `dot st-${job.status}` }),
        el('span', { class: 'tl-name' }, name),
        el('span', { class: 'mono muted' }, shortId(job.id)),
      ),
      el('div', { class: 'tl-track' }, queued, running),
    );
  }

  private hover(e: MouseEvent): void {
    const row = (e.target as Element).closest<HTMLElement>('.tl-row');
    const job = row && this.byId.get(row.dataset.jobId!);
    if (!job) {
      this.tip.hidden = true;
      return;
    }
    replace(this.tip, ...details(job));
    this.tip.hidden = false;
    const box = this.element.getBoundingClientRect();
    const x = Math.min(e.clientX - box.left + 14, box.width - this.tip.offsetWidth - 4);
    this.tip.style.left = `${Math.max(4, x)}px`;
    this.tip.style.top = `${e.clientY - box.top + 16}px`;
  }
}

/** Depth-first: each job followed by its children, in the order they were scheduled. */
function order(root: JobRecord, descendants: JobRecord[]): Row[] {
  const children = new Map<string, JobRecord[]>();
  for (const j of descendants) {
    const list = children.get(j.parentJob ?? '') ?? [];
    list.push(j);
    children.set(j.parentJob ?? '', list);
  }
  const rows: Row[] = [];
  const stack: Row[] = (children.get(root.id) ?? []).map((job) => ({ job, depth: 0 })).reverse();
  while (stack.length) {
    const r = stack.pop()!;
    rows.push(r);
    const kids = children.get(r.job.id);
    if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push({ job: kids[i], depth: r.depth + 1 });
  }
  return rows;
}

function segment(from: number, to: number): string {
  return `left:${from.toFixed(3)}%;width:${Math.max(0, to - from).toFixed(3)}%`;
}

/** 1, 2 or 5 times a power of ten, at least `raw` (milliseconds). */
function niceStep(raw: number): number {
  const pow = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * pow >= raw) return m * pow;
  return 10 * pow;
}

function details(job: JobRecord): (HTMLElement | string)[] {
  const queuedFor = (job.startedAt ?? job.completedAt ?? Date.now()) - job.scheduledFor;
  const ran = job.startedAt === null ? null : (job.completedAt ?? Date.now()) - job.startedAt;
  const kv = (k: string, v: string) => el('div', {}, el('span', { class: 'muted' }, `${k} `), v);
  return [
    el(
      'div',
      { class: 'tl-tip-title' },
      jobName(job),
      ' ',
      el('span', { class: `badge st-${job.status}` }, job.status),
    ),
    kv('job', job.id),
    kv('tag', job.tag),
    kv('scheduled', formatTime(job.scheduledFor)),
    kv('queued for', formatDuration(queuedFor)),
    kv(job.completedAt === null ? 'running for' : 'ran for', formatDuration(ran)),
    ...(job.worker ? [kv('worker', job.worker)] : []),
    ...(job.maxAttempts > 1 ? [kv('attempt', `${job.attempt} of ${job.maxAttempts}`)] : []),
    ...(job.error ? [el('div', { class: 'tl-tip-error' }, `${job.error.name}: ${job.error.message}`)] : []),
  ];
}

function legend(): HTMLElement {
  const item = (cls: string, text: string) => el('span', { class: 'tl-key' }, el('span', { class: cls }), text);
  return el(
    'span',
    { class: 'tl-keys' },
    item('tl-key-queued', 'queued'),
    item('tl-key-bar st-running', 'running'),
    item('tl-key-bar st-success', 'success'),
    item('tl-key-bar st-failure', 'failure'),
    item('tl-key-bar st-canceled', 'canceled'),
  );
}
