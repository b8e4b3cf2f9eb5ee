import { ScriptHashMismatchError } from '../errors.js';
import type { JobContext, JobRecord } from '../types.js';

/** What the running code of a job sees of it (`context()`). */
export function jobContext(job: JobRecord): JobContext {
  return {
    id: job.id,
    rootId: job.rootJob,
    parentId: job.parentJob ?? undefined,
    script: job.scriptPath,
    task: job.kind === 'task' ? job.entrypoint : undefined,
    tag: job.tag,
    attempt: job.attempt,
    workspace: job.workspace,
  };
}

/** Refuses to run a job whose code on this machine is not the code it was submitted with. */
export function checkScriptHash(runner: string, job: JobRecord, file: { path: string; hash: string }): void {
  if (file.hash === job.scriptHash) return;
  throw new ScriptHashMismatchError(
    `${runner} will not run job ${job.id}: its copy of ${file.path} (sha256 ${file.hash.slice(0, 12)}) ` +
      `differs from the one submitted (sha256 ${job.scriptHash.slice(0, 12)}). Deploy the same code to every worker.`,
  );
}
