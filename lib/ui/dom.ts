import type { JobRecord, JobStatus } from '../types.js';

/** Small DOM helpers: the UI builds its elements with these instead of a framework. */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** `el('a', { href: '#/x', class: 'k' }, 'text', child)`: attributes, `on…` listeners, then children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces everything in `node` with `children`. */
export function replace(node: Element, ...children: (Child | Child[])[]): void {
  node.replaceChildren();
  append(node, children);
}

/** The first 8 characters of an id, as the CLI shows them. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

export function statusBadge(status: JobStatus): HTMLElement {
  return el('span', { class: `badge st-${status}`, 'data-status': status }, status);
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local date and time, `2026-11-25 10:41:07`. */
export function formatTime(ms: number | null): string {
  if (ms === null) return '—';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `420 ms`, `3.2 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad(Math.floor((s % 3600) / 60))} min`;
}

/** How long a job has run, or runs so far. */
export function runningTime(job: JobRecord, now = Date.now()): number | null {
  if (job.durationMs !== null) return job.durationMs;
  if (job.startedAt === null) return null;
  return (job.completedAt ?? now) - job.startedAt;
}

/** Readable JSON in a <pre>. */
export function jsonBlock(value: unknown, cls = 'json'): HTMLElement {
  return el('pre', { class: cls }, JSON.stringify(value, null, 2) ?? 'undefined');
}

/** A link to a job's page. */
export function jobLink(id: string, text: Child = shortId(id)): HTMLAnchorElement {
  return el('a', { href: `#/run/${encodeURIComponent(id)}`, class: 'mono', title: id }, text);
}
