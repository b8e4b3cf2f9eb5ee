import { describeValue } from './describe.js';
import { TaskDefinitionError } from './errors.js';

/**
 * The names a wait listens on. A user's event name is plain (letters, digits, `_ . : -`), so it
 * is safe in a URL path and a shell; an approval listens on `@approval:<key>`, which no user
 * event can spell (user names cannot start with `@`).
 */

const EVENT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const RESUME_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const APPROVAL_PREFIX = '@approval:';

/** The key of an approval when none is given: one approval per job needs none. */
export const DEFAULT_APPROVAL_KEY = 'approval';

/** Throws a TaskDefinitionError naming `where` unless `name` is a valid event name. */
export function checkEventName(name: unknown, where: string): string {
  if (typeof name === 'string' && EVENT_NAME.test(name)) return name;
  throw new TaskDefinitionError(
    `${where}: expected an event name of 1 to 128 letters, digits, "_", ".", ":" or "-" (not starting with one of the last four), got ${JSON.stringify(name) ?? String(name)}`,
  );
}

/** Throws unless `key` is a valid approval key (it is the resume id of the approval's URLs). */
export function checkResumeKey(key: unknown, where: string): string {
  if (typeof key === 'string' && RESUME_KEY.test(key)) return key;
  throw new TaskDefinitionError(
    `${where}: expected a key of 1 to 64 letters, digits, "_" or "-", got ${JSON.stringify(key) ?? String(key)}`,
  );
}

/** The event an approval with this key waits for. */
export function approvalEventName(key: string): string {
  return `${APPROVAL_PREFIX}${key}`;
}

/** The approval key of a wait's name, or undefined for a plain event. */
export function approvalKeyOf(eventName: string): string | undefined {
  return eventName.startsWith(APPROVAL_PREFIX) ? eventName.slice(APPROVAL_PREFIX.length) : undefined;
}

/** Throws unless `seconds` is a valid wait timeout (a finite number > 0), or undefined. */
export function checkWaitTimeout(seconds: unknown, where: string): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return seconds;
  throw new TaskDefinitionError(
    `${where}: options.timeout must be a number of seconds > 0, got ${describeValue(seconds)}`,
  );
}
