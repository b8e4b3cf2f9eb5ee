import type { TreeReply } from '../../http/wire.js';
import { waitReason } from '../../wait-reason.js';
import { isFinished, jobName, type QueueSummary } from '../../types.js';
import { ApiError, cancelJob, getQueue, getTree } from '../api.js';
import {
  el,
  formatDuration,
  formatTime,
  jobLink,
  jsonBlock,
  replace,
  runningTime,
  shortId,
  statusBadge,
} from '../dom.js';
import { flowModules, flowModulesView } from '../flow-modules.js';
import { LogView } from '../log-view.js';
import { Timeline } from '../timeline.js';
import { treeView } from '../tree-view.js';
import { progressView } from '../progress-view.js';

const REFRESH_MS = 1000;
/** A big run's tree is megabytes of JSON: it is fetched less often, up to every 10 s. */
const refreshAfter = (descendants: number) => Math.min(10_000, REFRESH_MS + descendants * 2);

/**
 * A job's page (a run's, when the job is a root): status, args, result or error with its
 * stack, the timeline of its descendants, its live log, the tree, and a cancel button while
 * it is going. It polls the tree while anything in it is unfinished (every second, less
 * often for big runs); the log comes live by itself.
 */
export function runPage(root: HTMLElement, _params: URLSearchParams, id: string | undefined): () => void {
  if (!id) {
    root.append(el('p', { class: 'error' }, 'No job id in the address.'));
    return () => {};
  }
  const head = el('div', { class: 'run-head' });
  const facts = el('div', { class: 'facts' });
  const values = el('div', { class: 'values' });
  const flow = el('div');
  const bars = el('div');
  const timeline = new Timeline();
  const log = new LogView(id);
  const tree = el('div');
  const problem = el('p', { class: 'error', role: 'alert' });
  const timelineHead = el('div', { class: 'section-head', hidden: true }, el('h2', {}, 'Timeline'));
  root.append(head, problem, facts, bars, values, flow, timelineHead, timeline.element, log.element, tree);

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  let logStarted = false;
  let canceling = false;
  // Parts that only change with a status are drawn again only then: a reader scrolling the
  // tree or selecting a result is not interrupted every second.
  let drawnKey = '';
  let drawnFlowKey = '';
  let drawnProgressKey = '';

  const cancel = async () => {
    if (!confirm(`Cancel job ${shortId(id)} and everything it started?`)) return;
    canceling = true;
    (document.getElementById('cancel') as HTMLButtonElement | null)?.setAttribute('disabled', '');
    try {
      await cancelJob(id);
    } catch (err) {
      problem.textContent = `Could not cancel: ${(err as Error).message}`;
    }
    canceling = false;
    void load();
  };

  const draw = (t: TreeReply, queue: QueueSummary | undefined) => {
    const { job, descendants } = t;
    const going = !isFinished(job);
    const fact = (k: string, v: string | Node, cls = 'fact') =>
      el('div', { class: cls }, el('div', { class: 'muted' }, k), el('div', {}, v));
    replace(
      facts,
      fact('script', job.scriptPath, job.scriptPath.length > 18 ? 'fact wide' : 'fact'),
      fact('kind', job.kind === 'task' ? `task ${job.entrypoint}` : job.kind),
      fact('tag', job.tag),
      fact('created', formatTime(job.createdAt)),
      fact('started', formatTime(job.startedAt)),
      fact('duration', formatDuration(runningTime(job))),
      fact('worker', job.worker ?? '—'),
      fact('attempt', `${job.attempt} of ${job.maxAttempts}`),
      job.parentJob && fact('parent', jobLink(job.parentJob)),
      job.rootJob !== job.id && fact('run', jobLink(job.rootJob)),
    );
    timelineHead.hidden = false;
    timeline.update(job, descendants);
    if (!logStarted) {
      logStarted = true;
      log.start();
    }
    // The flow's modules, as the flow job recorded them (a branch chosen changes no job status).
    const flowKey = JSON.stringify(t.flow_status ?? null);
    if (flowKey !== drawnFlowKey) {
      drawnFlowKey = flowKey;
      const modules = flowModules(job, t.flow_status);
      replace(flow, modules && flowModulesView(modules));
    }
    const progressKey = JSON.stringify(t.progress ?? null);
    if (progressKey !== drawnProgressKey) {
      drawnProgressKey = progressKey;
      replace(bars, progressView(job, descendants, t.progress));
    }
    // Why it waits (a concurrency key, a rate limit) or did not run (the cache): docs/flow-control.md.
    const reason = waitReason(job, queue, Date.now(), (ms) => new Date(ms).toLocaleTimeString());
    const key = `${job.status}|${job.attempt}|${canceling}|${descendants.length}|${descendants.map((d) => d.status).join()}|${reason}`;
    if (key === drawnKey) return;
    drawnKey = key;
    replace(
      head,
      el(
        'div',
        {},
        el('h1', {}, jobName(job), ' ', statusBadge(job.status)),
        el('div', { class: 'muted mono', id: 'job-id' }, job.id),
      ),
      going &&
        el(
          'button',
          { class: 'danger', id: 'cancel', type: 'button', disabled: canceling, onclick: () => void cancel() },
          'Cancel run',
        ),
    );
    replace(
      values,
      el('section', { class: 'card' }, el('h2', {}, 'Args'), jsonBlock(job.args)),
      job.status === 'success' &&
        el('section', { class: 'card', id: 'result' }, el('h2', {}, 'Result'), jsonBlock(job.result)),
      job.error &&
        el(
          'section',
          { class: 'card error-card', id: 'error' },
          el('h2', {}, job.status === 'canceled' ? 'Canceled' : 'Error'),
          el('p', {}, el('strong', {}, job.error.name), `: ${job.error.message}`),
          job.canceledBy && el('p', { id: 'canceled-by' }, `canceled by ${job.canceledBy}`),
          job.error.jobId && el('p', {}, 'from job ', jobLink(job.error.jobId)),
          job.error.stack && el('pre', { class: 'stack' }, job.error.stack),
        ),
      t.attempts.length > 1 && attemptsCard(t),
      reason !== undefined &&
        el(
          'section',
          { class: 'card', id: 'wait-reason' },
          el('h2', {}, job.cachedFrom ? 'Cached' : 'Waiting'),
          el('p', {}, reason),
        ),
      going &&
        job.status === 'queued' &&
        reason === undefined &&
        el('section', { class: 'card' }, el('h2', {}, 'Result'), el('p', { class: 'muted' }, 'Waiting for a worker.')),
      going &&
        job.status === 'running' &&
        el('section', { class: 'card' }, el('h2', {}, 'Result'), el('p', { class: 'muted' }, 'Running…')),
    );
    replace(tree, treeView(job, descendants));
  };

  const load = async () => {
    clearTimeout(timer);
    try {
      const t = await getTree(id);
      // The keys' running counts, only for a job that waits on one.
      const queue = t.job.status === 'queued' && t.job.flowControl?.concurrency ? await getQueue() : undefined;
      if (stopped) return;
      problem.textContent = '';
      draw(t, queue);
      const going = !isFinished(t.job) || t.descendants.some((d) => !isFinished(d));
      if (going) timer = setTimeout(() => void load(), refreshAfter(t.descendants.length));
    } catch (err) {
      if (stopped) return;
      problem.textContent =
        err instanceof ApiError && err.status === 404
          ? `No job ${id}.`
          : `Could not load job ${id}: ${(err as Error).message}`;
      if (!(err instanceof ApiError && err.status === 404)) timer = setTimeout(() => void load(), REFRESH_MS * 3);
    }
  };
  void load();
  return () => {
    stopped = true;
    clearTimeout(timer);
    log.stop();
  };
}

/** Every attempt of a job that had more than one: who ran it, when, and how it ended. */
function attemptsCard(t: TreeReply): HTMLElement {
  return el(
    'section',
    { class: 'card wide', id: 'attempts' },
    el('h2', {}, 'Attempts'),
    el(
      'table',
      { class: 'attempts' },
      el(
        'thead',
        {},
        el('tr', {}, ...['#', 'worker', 'claimed', 'started', 'ended', 'status', 'error'].map((h) => el('th', {}, h))),
      ),
      el(
        'tbody',
        {},
        t.attempts.map((a) =>
          el(
            'tr',
            { 'data-attempt': String(a.attempt), 'data-status': a.status },
            el('td', {}, String(a.attempt)),
            el('td', { class: 'mono' }, a.worker),
            el('td', {}, formatTime(a.claimedAt)),
            el('td', {}, formatTime(a.startedAt)),
            el('td', {}, formatTime(a.completedAt)),
            el('td', {}, statusBadge(a.status)),
            el('td', { class: 'attempt-error' }, a.error ? `${a.error.code ?? a.error.name}: ${a.error.message}` : ''),
          ),
        ),
      ),
    ),
  );
}
