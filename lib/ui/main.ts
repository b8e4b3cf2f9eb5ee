import { clearSession, devSession, session, saveSession, whenUnauthorized } from './api.js';
import { loginPage } from './pages/login.js';
import { runPage } from './pages/run.js';
import { runFormPage } from './pages/run-form.js';
import { runsPage } from './pages/runs.js';
import { workersPage } from './pages/workers.js';
import { approvePage } from './pages/approve.js';
import { waitingPage } from './pages/waiting.js';
import { schedulesPage } from './pages/schedules.js';
import { queuePage } from './pages/queue.js';

/**
 * The web UI: one page whose routes live after `#` (`#/runs`, `#/run/<id>`, `#/new`,
 * `#/workers`, `#/schedules`), so the server serves one file. Each page mounts into #app and returns how to
 * stop it (timers, live streams).
 */

export type Page = (root: HTMLElement, params: URLSearchParams, arg: string | undefined) => () => void;

const pages: Record<string, Page> = {
  runs: runsPage,
  run: runPage,
  new: runFormPage,
  workers: workersPage,
  waiting: waitingPage,
  schedules: schedulesPage,
  queue: queuePage,
};

const app = document.getElementById('app')!;
const logout = document.getElementById('logout')!;
let stop: () => void = () => {};

function parseHash(): { name: string; arg: string | undefined; params: URLSearchParams } {
  const [route, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [name, ...rest] = route.split('/');
  return {
    name: name || 'runs',
    arg: rest.length ? decodeURIComponent(rest.join('/')) : undefined,
    params: new URLSearchParams(query),
  };
}

function render(): void {
  stop();
  stop = () => {};
  app.replaceChildren();
  // An approval page is opened from a signed URL, by an approver who may have no token.
  const { name: route, arg: signed, params: query } = parseHash();
  if (route === 'approve') {
    stop = approvePage(app, query, signed);
    return;
  }
  if (!session()) {
    logout.hidden = true;
    stop = loginPage(app, '', () => render());
    return;
  }
  logout.hidden = false;
  const { name, arg, params } = parseHash();
  for (const a of document.querySelectorAll<HTMLElement>('[data-nav]'))
    a.classList.toggle('active', a.dataset.nav === name || (name === 'run' && a.dataset.nav === 'runs'));
  const page = pages[name];
  if (!page) {
    app.append(
      Object.assign(document.createElement('p'), {
        className: 'error',
        textContent: `No page "${name}": go to the runs.`,
      }),
    );
    return;
  }
  stop = page(app, params, arg);
}

whenUnauthorized((message) => {
  clearSession();
  stop();
  stop = () => {};
  app.replaceChildren();
  logout.hidden = true;
  stop = loginPage(app, message, () => render());
});

logout.addEventListener('click', () => {
  clearSession();
  render();
});

window.addEventListener('hashchange', render);

// `millrace dev` on loopback hands out a token: no login there.
if (!session()) {
  const dev = await devSession();
  if (dev) saveSession(dev);
}
render();
