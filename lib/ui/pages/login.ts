import { ApiError, checkSession, saveSession } from '../api.js';
import { el } from '../dom.js';

/** The token form. A token of the workspace (or an admin one) lets the UI in for this browser session. */
export function loginPage(root: HTMLElement, message: string, done: () => void): () => void {
  const token = el('input', {
    type: 'password',
    name: 'token',
    id: 'token',
    autocomplete: 'off',
    placeholder: 'mr_…',
    required: true,
  });
  const workspace = el('input', { type: 'text', name: 'workspace', id: 'workspace', value: 'default', required: true });
  const error = el('p', { class: 'error', role: 'alert' }, message);
  const form = el(
    'form',
    { class: 'card login', id: 'login' },
    el('h1', {}, 'Log in'),
    el(
      'p',
      { class: 'muted' },
      'A token made with ',
      el('code', {}, 'millrace token create'),
      ', or the admin token the server printed at its first start.',
    ),
    el('label', { for: 'token' }, 'Token'),
    token,
    el('label', { for: 'workspace' }, 'Workspace'),
    workspace,
    error,
    el('button', { type: 'submit', class: 'primary' }, 'Log in'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const s = { token: token.value.trim(), workspace: workspace.value.trim() || 'default' };
    error.textContent = '';
    checkSession(s).then(
      () => {
        saveSession(s);
        done();
      },
      (err: unknown) => {
        error.textContent =
          err instanceof ApiError ? `${err.message} (${err.status})` : `Cannot reach the server: ${String(err)}`;
      },
    );
  });
  root.append(form);
  token.focus();
  return () => {};
}
