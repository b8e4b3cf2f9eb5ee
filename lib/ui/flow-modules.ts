import type { JobRecord, JobStatus } from '../types.js';
import { el, jobLink, statusBadge } from './dom.js';

/** One module of a flow run, as the run page lists it. */
export interface FlowModuleView {
  /** The module's id in the flow file. */
  id: string;
  status: JobStatus;
  /** The job that runs (or ran) the module, when one was made. */
  jobId: string | null;
}

/**
 * HOOK for flow runs (issue 4): the modules of a flow job with each one's status. Until the
 * flow engine records module statuses on the flow job, they are read from the flow's direct
 * children of kind 'flowstep' (a step's entrypoint is its module id). When it does, read the
 * recorded statuses here (modules not yet started included); the run page needs no other change.
 */
export function flowModules(job: JobRecord, descendants: JobRecord[]): FlowModuleView[] | undefined {
  if (job.kind !== 'flow') return undefined;
  return descendants.filter((d) => d.parentJob === job.id && d.kind === 'flowstep').map((d) => ({ id: d.entrypoint, status: d.status, jobId: d.id }));
}

export function flowModulesView(modules: FlowModuleView[]): HTMLElement {
  return el(
    'section',
    { class: 'flow-modules', id: 'flow-modules' },
    el('div', { class: 'section-head' }, el('h2', {}, 'Flow modules')),
    modules.length
      ? el('ol', {}, modules.map((m) => el('li', { 'data-module': m.id, 'data-status': m.status }, statusBadge(m.status), ' ', el('strong', {}, m.id), ' ', m.jobId ? jobLink(m.jobId) : el('span', { class: 'muted' }, 'not started'))))
      : el('p', { class: 'muted' }, 'No module has started yet.'),
  );
}
