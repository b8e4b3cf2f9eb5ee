// Type tests: compiled by `tsc --noEmit -p __tests__/types/tsconfig.json` (see types.test.ts).
// Each @ts-expect-error line must be an error, or the compile fails.
import pLimit from 'p-limit';
import { currentJob, task, tryCurrentJob, type JobContext, type Task } from '../../lib/index.js';

const add = task(async function add(a: number, b: number) {
  return a + b;
});
const greet = task(function greet(name: string, opts?: { loud: boolean }): string {
  return opts?.loud ? name.toUpperCase() : name;
}, 'cpu');
const noArgs = task(async function noArgs() {}, {
  tag: 'io',
  name: 'noArgs',
  timeout: 5,
  retry: { attempts: 3, delay: 1 },
});
const identity = task(async function identity<T>(value: T): Promise<T> {
  return value;
});

// A key function gets the task's own parameters.
const charge = task(
  async function charge(account: string, cents: number) {
    return cents;
  },
  {
    concurrency: { limit: 3, key: (account) => `stripe:${account.toUpperCase()}` },
    rateLimit: { limit: 5, per: 1, key: (_a, cents) => String(cents.toFixed(0)) },
    priority: 2,
    cacheTtl: 60,
  },
);
// @ts-expect-error a key function returns a string
task(async (a: string) => a, { concurrency: { limit: 1, key: (a: string) => a.length } });
// @ts-expect-error a key function's parameters are the task's
task(async (a: string) => a, { concurrency: { limit: 1, key: (a: number) => String(a) } });
// @ts-expect-error an option task() does not know
task(async (a: string) => a, { concurency: { limit: 1 } });

async function checks() {
  const _cents: number = await charge('acct', 100);
  // Parameters are fn's own; the result is fn's, awaited and wrapped in a Promise.
  const sum: number = await add(1, 2);
  const s: Promise<string> = greet('x');
  await greet('x', { loud: true });
  const nothing: void = await noArgs();
  const generic: string = await identity('kept');
  const typed: Task<[number, number], Promise<number>> = add;

  // @ts-expect-error wrong argument type
  await add('1', 2);
  // @ts-expect-error too few arguments
  await add(1);
  // @ts-expect-error too many arguments
  await noArgs(1);
  // @ts-expect-error the result is a number, not a string
  const wrong: string = await add(1, 2);
  // @ts-expect-error the proxy returns a Promise, even for a sync function
  const notAwaited: string = greet('x');
  // @ts-expect-error options are checked
  task(async () => 1, { tagg: 'x' });
  // @ts-expect-error retry needs attempts
  task(async () => 1, { retry: { delay: 1 } });
  // @ts-expect-error a generic task keeps its type parameter
  const genericWrong: number = await identity('kept');

  const ctx: JobContext = currentJob();
  const id: string = ctx.id;
  const parent: string | undefined = ctx.parentId;
  // @ts-expect-error tryCurrentJob may be undefined
  const maybe: JobContext = tryCurrentJob();
  // @ts-expect-error the context is read-only data, with no unknown fields
  ctx.bogus;

  // Context survives p-limit: types flow through it too.
  const limit = pLimit(2);
  const viaLimit: number = await limit(() => add(1, 2));
  return [sum, s, nothing, generic, typed, wrong, notAwaited, genericWrong, id, parent, maybe, viaLimit];
}
void checks;
