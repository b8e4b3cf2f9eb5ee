import type { FlowStatus, ModuleState, ModuleStatus } from '../flow/types.js';
import type { JobRecord, JobStatus, Json } from '../types.js';
import { el, jobLink, statusBadge } from './dom.js';

/** One module of a flow run, as the run page lists it, with what ran inside it. */
export interface FlowModuleView {
  /** The module's id in the flow file. */
  id: string;
  /** script, rawscript, forloopflow, branchone, branchall, identity. */
  moduleType: string;
  /** The module's recorded state (WaitingForPriorSteps, InProgress, Success, Failure). */
  state: ModuleState;
  /** The job that runs (or ran) the module, when one was made. */
  jobId: string | null;
  skipped: boolean;
  error: string | null;
  /** A branchone's branch taken: 'branch 0', 'default'. */
  branchChosen: string | null;
  /** A loop's iterations, or a branchall's branches (a branchone's chosen one): their modules. */
  parts: { label: string; state: ModuleState; modules: FlowModuleView[] }[];
}

/** A module state as the badge of the job status it corresponds to. */
const STATE_STATUS: Record<ModuleState, JobStatus> = {
  WaitingForPriorSteps: 'queued',
  InProgress: 'running',
  Success: 'success',
  Failure: 'failure',
};

/**
 * The modules of a flow job with each one's recorded state (modules not yet started
 * included), read from the flow status the flow job records as it goes; the failure module
 * last, when it ran. Undefined for a job that is not a flow. A flow job that has recorded
 * nothing yet (queued) lists no module.
 */
export function flowModules(job: JobRecord, flowStatus: Json | undefined): FlowModuleView[] | undefined {
  if (job.kind !== 'flow') return undefined;
  const status = flowStatus as unknown as FlowStatus | undefined;
  if (!status) return [];
  const modules = status.modules.map(view);
  if (status.failure_module && status.failure_module.type !== 'WaitingForPriorSteps')
    modules.push(view(status.failure_module));
  return modules;
}

function view(m: ModuleStatus): FlowModuleView {
  const parts: FlowModuleView['parts'] = [];
  for (const it of m.iterations ?? [])
    parts.push({ label: `iteration ${it.index}`, state: it.type, modules: it.modules.map(view) });
  for (const b of m.branches ?? [])
    parts.push({
      label: `branch ${b.index}${b.failure_skipped ? ' (failure skipped)' : ''}`,
      state: b.type,
      modules: b.modules.map(view),
    });
  const chosen = m.branch_chosen;
  return {
    id: m.id,
    moduleType: m.module_type,
    state: m.type,
    jobId: m.job ?? null,
    skipped: m.skipped === true,
    error: m.error ? `${m.error.name}: ${m.error.message}` : null,
    branchChosen: chosen ? (chosen.type === 'default' ? 'default' : `branch ${chosen.branch}`) : null,
    parts,
  };
}

export function flowModulesView(modules: FlowModuleView[]): HTMLElement {
  return el(
    'section',
    { class: 'flow-modules', id: 'flow-modules' },
    el('div', { class: 'section-head' }, el('h2', {}, 'Flow modules')),
    modules.length ? moduleList(modules) : el('p', { class: 'muted' }, 'No module has started yet.'),
  );
}

function moduleList(modules: FlowModuleView[]): HTMLElement {
  return el(
    'ol',
    {},
    modules.map((m) =>
      el(
        'li',
        { 'data-module': m.id, 'data-status': STATE_STATUS[m.state], 'data-state': m.state },
        statusBadge(STATE_STATUS[m.state]),
        ' ',
        el('strong', {}, m.id),
        ' ',
        el('span', { class: 'muted' }, m.moduleType),
        m.skipped && el('span', { class: 'muted' }, ' (skipped)'),
        m.branchChosen && el('span', { class: 'branch-chosen' }, ` → ${m.branchChosen}`),
        ' ',
        m.jobId
          ? jobLink(m.jobId)
          : m.parts.length === 0 && m.state === 'WaitingForPriorSteps' && el('span', { class: 'muted' }, 'not started'),
        m.error && el('div', { class: 'error' }, m.error),
        m.parts.length > 0 &&
          el(
            'ul',
            { class: 'flow-parts' },
            m.parts.map((p) =>
              el(
                'li',
                { 'data-part': p.label, 'data-status': STATE_STATUS[p.state] },
                statusBadge(STATE_STATUS[p.state]),
                ' ',
                p.label,
                p.modules.length > 0 && moduleList(p.modules),
              ),
            ),
          ),
      ),
    ),
  );
}
