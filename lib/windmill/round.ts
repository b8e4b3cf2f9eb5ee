import { fork } from 'node:child_process';
import { AsyncResource } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WindmillRoundError } from '../errors-windmill.js';
import type { RoundOutcome, RoundRequest } from './protocol.js';

/**
 * One round of a Windmill workflow in a process of its own (round-entry.ts), with the
 * environment windmill-client reads: the job's id and workspace, the address of the routes it
 * calls (sdk-routes.ts) and a token that holds for this job only. Its output lines become the
 * job's log lines as they come (stdout and stderr kept apart), so a task's `console.log` is live
 * in its job's log and, forwarded by the store, in every ancestor's.
 */

// Under ts-jest this module is lib/windmill/round.ts, built it is dist/windmill/round.js.
const ENTRY = fileURLToPath(new URL(`./round-entry.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url));
// tsx's loader (ES modules and CommonJS): the script is TypeScript, and so is the entry under ts-jest.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface RoundEnv {
  jobId: string;
  workspace: string;
  rootJobId: string;
  /** The SDK's BASE_INTERNAL_URL: `/api/…` is appended to it. */
  baseUrl: string;
  token: string;
  /** The project root: the process's working directory. */
  root: string;
}

export function runRound(request: RoundRequest, env: RoundEnv, signal: AbortSignal): Promise<RoundOutcome> {
  return new Promise((resolve, reject) => {
    const child = fork(ENTRY, [], {
      cwd: env.root,
      execArgv: ['--import', TSX],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        ...process.env,
        WM_JOB_ID: env.jobId,
        WM_ROOT_FLOW_JOB_ID: env.rootJobId,
        WM_WORKSPACE: env.workspace,
        BASE_INTERNAL_URL: env.baseUrl,
        BASE_URL: env.baseUrl,
        WM_TOKEN: env.token,
      },
    });
    let outcome: RoundOutcome | undefined;
    // The lines reach the job's log in the job's async context (the console capture reads it).
    const pipe = (stream: NodeJS.ReadableStream, write: (line: string) => void) =>
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', AsyncResource.bind(write));
    pipe(child.stdout!, (line) => console.log(line));
    pipe(child.stderr!, (line) => console.error(line));
    const onAbort = () => child.kill('SIGKILL');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('message', (message: RoundOutcome) => (outcome = message));
    child.once('error', reject);
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (outcome) resolve(outcome);
      else if (signal.aborted) reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      else
        reject(
          new WindmillRoundError(
            `The process running job ${env.jobId}'s workflow ended (${sig ?? `exit code ${code}`}) before the round's end; its output is in the job's log`,
          ),
        );
    });
    child.send(request);
  });
}
