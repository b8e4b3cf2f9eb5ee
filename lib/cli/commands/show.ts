import type { Command } from 'commander';
import type { AttemptRecord } from '../../types.js';
import { formatFlowStatus } from '../flow-status.js';
import { formatProgress } from '../progress-format.js';
import { formatTree, painter } from '../format.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

export function showCommand(program: Command): void {
  withEngineOptions(
    program
      .command('show')
      .summary('draw a run as a tree, with timings')
      .description(
        "Draw a job and its descendants as a tree: per job its name, status, tag, time queued, time started and duration.\nFor a flow, also its flow status: each module's state, the branch chosen and each loop iteration.",
      )
      .argument('<id>', 'job id (a unique prefix is enough)'),
  ).action(async (idArg: string, options: EngineOptions) => {
    const engine = await openEngine({ ...options, worker: false });
    try {
      const id = await engine.resolveId(idArg);
      const job = (await engine.get(id))!;
      const descendants = await engine.descendants(id);
      const flowStatus = job.kind === 'flow' ? await engine.flowStatus(id) : undefined;
      const progress = await engine.progress(id);
      if (options.json) {
        const attempts = await engine.attempts(id);
        process.stdout.write(
          `${JSON.stringify({ job, attempts, descendants, ...(flowStatus !== undefined && { flow_status: flowStatus }), progress }, null, 2)}\n`,
        );
      } else {
        const attempts = new Map<string, AttemptRecord[]>();
        for (const j of [job, ...descendants].filter((j) => j.attempt > 1))
          attempts.set(j.id, await engine.attempts(j.id));
        process.stdout.write(`${formatTree(job, descendants, painter(process.stdout), attempts)}\n`);
        if (flowStatus !== undefined) process.stdout.write(`${formatFlowStatus(flowStatus)}\n`);
        const bars = formatProgress([job, ...descendants], progress);
        if (bars) process.stdout.write(`${bars}\n`);
      }
    } finally {
      await engine.close();
    }
  });
}
