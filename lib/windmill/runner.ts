/**
 * The built-in script a Windmill workflow's job runs on an executor thread (worker/run-request.ts
 * sends every job of a script recognised by loader/windmill-workflow.ts here), in Windmill's
 * rounds: run the workflow from the checkpoint in a process of its own (round.ts); when the body
 * suspends, do what it asks as millrace does it (tasks as child jobs, a durable sleep, an
 * approval's wait, a step's record), add the outcomes to the checkpoint, and run the next round;
 * until the body returns. Every outcome is a child of the job, by key: a job that runs again
 * (its worker was killed) replays them, and never runs a finished task's body twice.
 */
import { randomBytes } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { MillraceError, UnknownEntrypointError } from '../errors.js';
import { WindmillWorkflowError } from '../errors-windmill.js';
import { WAC_TASK_ARG } from '../loader/windmill-workflow.js';
import { positionalArgs } from '../loader/args.js';
import { resolveScript } from '../loader/paths.js';
import { inferSignatureOfFile } from '../loader/signature.js';
import { decode } from '../serialize.js';
import { sleep, step } from '../task/durable.js';
import { runtime } from '../task/runtime.js';
import { waitForApproval } from '../task/wait.js';
import type { Json } from '../types.js';
import { dispatchTask, type WorkflowJob } from './dispatch.js';
import type { DispatchInfo } from './protocol.js';
import { LocalApprovals } from './local-approvals.js';
import { runRound } from './round.js';
import { serveSdkRoutes } from './sdk-routes.js';

interface TaskArg {
  key: string;
  completed_steps: Record<string, unknown>;
}

/**
 * Runs the job: the workflow (`entrypoint` main), an inline task's body (the checkpoint arg names
 * it), or the export `entrypoint` names alone (a task call by entrypoint, Windmill's v1 form).
 */
export async function main(jobArgs: Record<string, Json> | null, entrypoint = 'main'): Promise<unknown> {
  const scope = runtime.als.getStore();
  if (!scope) throw new MillraceError('The Windmill runner runs only as a job on a millrace worker');
  const root = (workerData as { root: string }).root;
  const { [WAC_TASK_ARG]: taskArg, ...args } = jobArgs ?? {};
  const task = taskArg === undefined ? undefined : (decode(taskArg) as TaskArg);
  const script = resolveScript(root, scope.context.script);
  const exported = task || entrypoint === 'main' ? undefined : entrypoint;
  const sig = inferSignatureOfFile(script.file, script.hash, exported ? { entrypoint: exported } : {});
  if (exported && !sig.hasMain) throw new UnknownEntrypointError(script.path, exported, sig.exports);
  const positional = positionalArgs(sig, args).map((a) => (a === undefined ? undefined : decode(a)));
  const job: WorkflowJob = { scope, script: scope.context.script, args };
  const completed: Record<string, unknown> = { ...(task?.completed_steps ?? {}) };
  const token = `wmj_${randomBytes(24).toString('hex')}`;
  const approvals = new LocalApprovals(scope);
  const routes = await serveSdkRoutes({ scope, token, completed, approvals });
  try {
    for (;;) {
      const outcome = await runRound(
        {
          file: script.file,
          args: positional,
          checkpoint: { completed_steps: completed, ...(task && { _executing_key: task.key }) },
          ...(exported && { entrypoint: exported }),
        },
        {
          jobId: scope.context.id,
          rootJobId: scope.context.rootId,
          workspace: scope.context.workspace,
          baseUrl: routes.baseUrl,
          token,
          root,
        },
        scope.signal,
      );
      if (outcome.kind === 'failure') throw new WindmillWorkflowError(outcome.error);
      if (outcome.kind === 'complete') {
        if (task) {
          throw new MillraceError(
            `Task "${task.key}" of job ${scope.context.parentId ?? '?'}'s workflow was not reached when the workflow ran again: the workflow must call its tasks in the same order each time`,
          );
        }
        return outcome.result;
      }
      if (outcome.dispatch.mode === 'step_complete') return outcome.dispatch.result;
      await carryOut(job, outcome.dispatch, completed, approvals);
    }
  } finally {
    await routes.close();
  }
}

/** Does what a suspended round asked, and records each outcome in the checkpoint. */
async function carryOut(
  job: WorkflowJob,
  dispatch: DispatchInfo,
  completed: Record<string, unknown>,
  approvals: LocalApprovals,
): Promise<void> {
  switch (dispatch.mode) {
    case 'sequential':
    case 'parallel': {
      const snapshot = { ...completed };
      const values = await Promise.all(dispatch.steps.map((s) => dispatchTask(job, s, snapshot)));
      dispatch.steps.forEach((s, i) => (completed[s.key] = values[i]));
      return;
    }
    case 'sleep':
      await sleep(dispatch.seconds);
      completed[dispatch.key] = null;
      return;
    case 'approval': {
      approvals.awaiting = dispatch.key;
      const approval = await waitForApproval({
        key: dispatch.key,
        ...(dispatch.timeout !== undefined && { timeout: dispatch.timeout }),
        ...(dispatch.form !== undefined && dispatch.form !== null && { form: dispatch.form as Json }),
      });
      approvals.awaiting = undefined;
      completed[dispatch.key] = { value: approval.value, approver: approval.approver, approved: approval.approved };
      return;
    }
    case 'inline_checkpoint':
      // The SDK's fallback when its inline_checkpoint call failed (or found the step recorded).
      if (!(dispatch.key in completed)) completed[dispatch.key] = await step(dispatch.key, () => dispatch.result);
      return;
    case 'step_complete':
      return;
  }
}
