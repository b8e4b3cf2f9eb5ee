import type { LogLine } from '../types.js';
import { followLog } from './api.js';
import { el, shortId } from './dom.js';

/**
 * A job's log, live while the job runs (server-sent events). A line a descendant printed is
 * marked with that job's task name and short id, and the marker links to the job.
 */
export class LogView {
  readonly element: HTMLElement;
  private readonly lines = el('div', { class: 'log-lines', id: 'log-lines' });
  private readonly state = el('span', { class: 'log-state muted', id: 'log-state' }, 'connecting…');
  private readonly abort = new AbortController();
  private pending: LogLine[] = [];
  private frame = 0;
  private count = 0;

  constructor(private readonly jobId: string) {
    this.element = el(
      'section',
      { class: 'log', id: 'log' },
      el('div', { class: 'section-head' }, el('h2', {}, 'Log'), this.state),
      this.lines,
    );
  }

  start(): void {
    this.state.textContent = 'live';
    this.state.classList.add('live');
    followLog(
      this.jobId,
      {
        onLines: (lines) => {
          this.pending.push(...lines);
          this.frame ||= requestAnimationFrame(() => this.flush());
        },
        onEnd: () => this.ended(),
      },
      this.abort.signal,
    ).catch((err: unknown) => {
      if (this.abort.signal.aborted) return;
      this.state.classList.remove('live');
      this.state.textContent = `log stream lost: ${(err as Error).message}`;
    });
  }

  stop(): void {
    this.abort.abort();
    cancelAnimationFrame(this.frame);
  }

  private ended(): void {
    this.state.classList.remove('live');
    this.state.textContent = 'job finished';
    if (this.count === 0 && this.pending.length === 0)
      this.lines.append(el('div', { class: 'muted log-empty' }, 'Nothing was printed.'));
  }

  /** Appends the lines received since the last frame, in one DOM write; follows the end if the reader was there. */
  private flush(): void {
    this.frame = 0;
    const atEnd = this.lines.scrollHeight - this.lines.scrollTop - this.lines.clientHeight < 8;
    const frag = document.createDocumentFragment();
    for (const l of this.pending) frag.append(lineElement(l));
    this.count += this.pending.length;
    this.pending = [];
    this.lines.append(frag);
    if (atEnd) this.lines.scrollTop = this.lines.scrollHeight;
  }
}

function lineElement(l: LogLine): HTMLElement {
  const d = new Date(l.ts);
  const time = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}.${String(d.getMilliseconds()).padStart(3, '0')}`;
  return el(
    'div',
    { class: `log-line${l.stream === 'stderr' ? ' stderr' : ''}`, 'data-source': l.source?.jobId },
    el('span', { class: 'log-time' }, time),
    l.source &&
      el(
        'a',
        {
          class: 'log-src',
          href: `#/run/${encodeURIComponent(l.source.jobId)}`,
          title: `printed by ${l.source.name} (job ${l.source.jobId})`,
          'data-job-id': l.source.jobId,
        },
        `${l.source.name} ${shortId(l.source.jobId)}`,
      ),
    el('span', { class: 'log-text' }, l.line),
  );
}
