import type { ApprovalInfoReply } from '../../http/wire.js';
import type { JsonSchema, MainParam } from '../../loader/signature.js';
import type { Json } from '../../types.js';
import { answerApproval, approvalInfo, type SignedApproval } from '../approval-api.js';
import { ArgsForm } from '../args-form.js';
import { el, formatTime, jsonBlock, replace, statusBadge } from '../dom.js';

/**
 * `#/approve/{ws}/{id}/{resume_id}/{signature}`: the page of getResumeUrls().approvalPage. It
 * needs no login (the URL is signed): the run, the form rendered from its JSON schema, and
 * Approve and Reject. The server checks the value against the form again.
 */
export function approvePage(root: HTMLElement, _params: URLSearchParams, arg: string | undefined): () => void {
  const [workspace, jobId, resumeId, signature] = (arg ?? '').split('/');
  const signedUrl: SignedApproval = { workspace, jobId, resumeId, signature };
  const body = el('div', { id: 'approval' }, el('p', { class: 'muted' }, 'Loading…'));
  root.append(el('div', { class: 'page-head' }, el('h1', {}, 'Approval')), body);
  let stopped = false;
  void approvalInfo(signedUrl).then(
    (info) => {
      if (!stopped) show(body, signedUrl, info);
    },
    (err: Error) => {
      if (!stopped) replace(body, el('p', { class: 'error', id: 'approval-error' }, err.message));
    },
  );
  return () => {
    stopped = true;
  };
}

function show(body: HTMLElement, signedUrl: SignedApproval, info: ApprovalInfoReply): void {
  const { job } = info;
  const summary = el(
    'dl',
    { class: 'summary' },
    el('dt', {}, 'Run'),
    el('dd', { class: 'mono' }, job.id),
    el('dt', {}, 'Script'),
    el('dd', {}, job.scriptPath),
    el('dt', {}, 'Status'),
    el('dd', {}, statusBadge(job.status)),
    el('dt', {}, 'Started'),
    el('dd', {}, formatTime(job.startedAt)),
    el('dt', {}, 'Args'),
    el('dd', {}, jsonBlock(job.args)),
    el('dt', {}, 'Approval'),
    el('dd', { class: 'mono' }, info.resume_id),
  );
  if (info.used || !info.waiting) {
    const why = info.used ? 'This approval was answered already.' : 'This run is not waiting for this approval now.';
    replace(body, summary, el('p', { class: 'muted', id: 'approval-state' }, why));
    return;
  }
  const form = new ArgsForm(formParams(info.form));
  const message = el('p', { id: 'approval-message', role: 'status' });
  const answer = async (approved: boolean) => {
    let value: unknown = null;
    if (approved && info.form !== null) {
      const read = form.read();
      if (!read.ok) {
        message.textContent = read.errors.join('; ');
        return;
      }
      // A form without properties is one field, its value the whole value.
      value = hasProperties(info.form) ? read.args : read.args.value;
    }
    for (const b of buttons) b.disabled = true;
    try {
      await answerApproval(signedUrl, approved, value);
      replace(
        body,
        summary,
        el(
          'p',
          { id: 'approval-state', class: 'ok' },
          approved ? 'Approved: the run goes on.' : 'Rejected: the run was told.',
        ),
      );
    } catch (err) {
      const problems = (err as { problems?: string[] }).problems;
      message.textContent = problems?.length ? problems.join('; ') : (err as Error).message;
      for (const b of buttons) b.disabled = false;
    }
  };
  const buttons = [
    el('button', { type: 'button', id: 'approve', class: 'primary', onclick: () => void answer(true) }, 'Approve'),
    el('button', { type: 'button', id: 'reject', onclick: () => void answer(false) }, 'Reject'),
  ];
  replace(
    body,
    summary,
    info.form !== null ? el('h2', {}, 'Form') : null,
    info.form !== null ? form.element : null,
    el('div', { class: 'actions' }, buttons),
    message,
  );
}

function hasProperties(form: Json): boolean {
  return (
    typeof form === 'object' &&
    form !== null &&
    !Array.isArray(form) &&
    typeof form.properties === 'object' &&
    form.properties !== null
  );
}

/** The form's properties as the inputs of the run form (each one a field, `required` from the schema). */
function formParams(form: Json | null): MainParam[] {
  if (form === null || typeof form !== 'object' || Array.isArray(form)) return [];
  const schema = form as unknown as JsonSchema;
  const required = new Set(schema.required ?? []);
  if (!schema.properties) return [{ name: 'value', schema, required: true }];
  return Object.entries(schema.properties).map(([name, s]) => ({ name, schema: s, required: required.has(name) }));
}
