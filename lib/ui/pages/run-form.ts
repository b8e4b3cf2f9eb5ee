import { getSignature, listRunnables, runScript } from '../api.js';
import { ArgsForm } from '../args-form.js';
import { el, replace } from '../dom.js';

/**
 * Start a run: pick a script, fill the form generated from its `main`'s inferred args, submit;
 * the page of the new run opens. Nothing is sent while a field is wrong.
 */
export function runFormPage(root: HTMLElement, params: URLSearchParams): () => void {
  const picked = params.get('path') ?? '';
  const select = el('select', { id: 'script', name: 'script' }, el('option', { value: '' }, 'loading…'));
  const fieldsBox = el('div', { id: 'args' });
  const problem = el('p', { class: 'error', id: 'form-error', role: 'alert' });
  const submit = el('button', { type: 'submit', class: 'primary', id: 'submit', disabled: true }, 'Run');
  const form = el(
    'form',
    { class: 'card run-form', id: 'run-form', novalidate: true },
    el('label', { for: 'script' }, 'Script'),
    select,
    fieldsBox,
    problem,
    submit,
  );
  root.append(el('div', { class: 'page-head' }, el('h1', {}, 'New run')), form);

  let args: ArgsForm | undefined;
  let stopped = false;
  const pick = async (path: string) => {
    args = undefined;
    submit.disabled = true;
    problem.textContent = '';
    replace(fieldsBox);
    if (!path) return;
    try {
      const sig = await getSignature(path);
      if (stopped || select.value !== path) return;
      if (!sig.signature.hasMain) {
        problem.textContent = `${path} exports no main (it exports ${sig.signature.exports.join(', ') || 'nothing'})`;
        return;
      }
      args = new ArgsForm(sig.signature.params);
      replace(fieldsBox, el('h2', {}, 'Arguments of main'), args.element);
      submit.disabled = false;
    } catch (err) {
      problem.textContent = `Cannot read ${path}: ${(err as Error).message}`;
    }
  };
  select.addEventListener('change', () => {
    history.replaceState(null, '', `#/new?path=${encodeURIComponent(select.value)}`);
    void pick(select.value);
  });

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!args) return;
    const read = args.read();
    if (!read.ok) {
      problem.textContent = `Fix ${read.errors.length === 1 ? 'this field' : `these ${read.errors.length} fields`} first.`;
      return;
    }
    problem.textContent = '';
    submit.disabled = true;
    runScript(select.value, read.args).then(
      (id) => (location.hash = `#/run/${encodeURIComponent(id)}`),
      (err: unknown) => {
        submit.disabled = false;
        problem.textContent = `The server refused the run: ${(err as Error).message}`;
      },
    );
  });

  listRunnables().then(
    (list) => {
      if (stopped) return;
      const paths = list.runnables.map((r) => r.path);
      if (picked && !paths.includes(picked)) paths.unshift(picked);
      replace(
        select,
        el('option', { value: '' }, paths.length ? 'pick a script…' : 'no script with a main under the root'),
        paths.map((p) => el('option', { value: p, selected: p === picked }, p)),
      );
      if (picked) void pick(picked);
    },
    (err: unknown) => (problem.textContent = `Cannot list the scripts: ${(err as Error).message}`),
  );
  return () => {
    stopped = true;
  };
}
