import type { FlowStatus, ModuleStatus } from '../flow/types.js';
import type { Json } from '../types.js';
import { formatDuration, painter } from './format.js';

/** A flow job's recorded flow status, one module a line, nested modules indented. */
export function formatFlowStatus(raw: Json, paint = painter(process.stdout)): string {
  const status = raw as unknown as FlowStatus;
  const lines = [paint('gray', 'flow status:')];
  const color = (type: string) =>
    (type === 'Success' ? 'green' : type === 'Failure' ? 'red' : type === 'InProgress' ? 'cyan' : 'gray') as Parameters<
      typeof paint
    >[0];
  const walk = (modules: ModuleStatus[], indent: string) => {
    for (const m of modules) {
      const took =
        m.started_at !== undefined && m.completed_at !== undefined
          ? ` ${formatDuration(m.completed_at - m.started_at)}`
          : '';
      const extra = [
        m.skipped ? 'skipped' : '',
        m.job ? `job ${m.job}` : '',
        m.branch_chosen ? `branch ${m.branch_chosen.type === 'default' ? 'default' : m.branch_chosen.branch}` : '',
        m.iterations ? `${m.iterations.length} iterations` : '',
        m.error ? `${m.error.name}: ${m.error.message}` : '',
      ].filter(Boolean);
      lines.push(
        `${indent}${m.id} (${m.module_type}) ${paint(color(m.type), m.type)}${took}${extra.length ? paint('gray', `  ${extra.join(', ')}`) : ''}`,
      );
      for (const it of m.iterations ?? []) {
        lines.push(`${indent}  [${it.index}] ${paint(color(it.type), it.type)}`);
        walk(it.modules, `${indent}    `);
      }
      for (const b of m.branches ?? []) {
        lines.push(
          `${indent}  branch ${b.index < 0 ? 'default' : b.index} ${paint(color(b.type), b.type)}${b.failure_skipped ? paint('gray', '  failure skipped') : ''}`,
        );
        walk(b.modules, `${indent}    `);
      }
    }
  };
  walk(status.modules, '  ');
  if (status.failure_module) {
    lines.push(paint('gray', 'failure module:'));
    walk([status.failure_module], '  ');
  }
  return lines.join('\n');
}
