import { fileURLToPath } from 'node:url';

/**
 * The Windmill runner's file (runner.ts), which a worker runs on an executor thread for every job
 * of a Windmill workflow script, as it runs the flow runner for a flow job. Under ts-jest this
 * module is lib/windmill/runner-file.ts, built it is dist/windmill/runner-file.js.
 */
export const WINDMILL_RUNNER_FILE = fileURLToPath(
  new URL(`./runner.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url),
);
