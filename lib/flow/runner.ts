/**
 * The built-in script a flow job runs on an executor thread (see run-request.ts). It reads
 * the flow at the job's path and interprets it; its modules are child jobs of the flow job.
 */
import { workerData } from 'node:worker_threads';
import { MillraceError } from '../errors.js';
import { runtime } from '../task/runtime.js';
import type { Json } from '../types.js';
import { FlowInterpreter } from './interpreter.js';
import { loadFlow } from './validate.js';

export async function main(flowInput: Record<string, unknown> | null): Promise<unknown> {
  const scope = runtime.als.getStore();
  if (!scope) {
    throw new MillraceError('The flow runner runs only as a flow job on a millrace worker');
  }
  const root = (workerData as { root: string }).root;
  const { flow } = loadFlow(root, scope.context.script);
  const interpreter = new FlowInterpreter(flow, {
    submit: (call) => scope.callPath(call),
    wait: (jobId) => scope.jobOp('wait', jobId),
    cancel: async (jobId, reason) => {
      await scope.jobOp('cancel', jobId, reason);
    },
    saveStatus: (status) => scope.setFlowStatus(status as unknown as Json),
  });
  return interpreter.run(flowInput ?? {});
}
