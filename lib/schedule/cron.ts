import { Cron } from 'croner';
import { describeValue } from '../describe.js';
import { ScheduleError } from '../errors-operations.js';

/**
 * A schedule's cron expression read in its time zone (croner does the parsing). Five
 * fields (minute hour day month weekday), or six with seconds first.
 */
export class CronSlots {
  private readonly cron: Cron;

  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.cron = parseCron(expression, timezone);
  }

  /** The first slot strictly after `after` (ms), or undefined when the cron names no more. */
  next(after: number): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime();
  }

  /** The latest slot at or before `at`, if it is after `after`. */
  latest(after: number, at: number): number | undefined {
    const [slot] = this.cron.previousRuns(1, new Date(at + 1));
    const ms = slot?.getTime();
    return ms !== undefined && ms > after && ms <= at ? ms : undefined;
  }
}

/** Checks a time zone's name: an IANA name Intl knows. */
export function checkTimezone(timezone: unknown): string {
  if (typeof timezone !== 'string' || timezone === '') {
    throw new ScheduleError(
      'timezone',
      `timezone: expected an IANA time zone name such as Europe/Paris or UTC, got ${describeValue(timezone)}`,
    );
  }
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw new ScheduleError(
      'timezone',
      `timezone: expected an IANA time zone name such as Europe/Paris or UTC, got "${timezone}"`,
    );
  }
  return timezone;
}

function parseCron(expression: unknown, timezone: string): Cron {
  const example = "five fields like '0 9 * * 1-5', or six with seconds first like '*/10 * * * * *'";
  if (typeof expression !== 'string')
    throw new ScheduleError('cron', `cron: expected ${example}, got ${describeValue(expression)}`);
  const fields = expression
    .trim()
    .split(/\s+/)
    .filter((f) => f !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    throw new ScheduleError(
      'cron',
      `cron: expected ${example}, got "${expression}" (${fields.length} field${fields.length === 1 ? '' : 's'})`,
    );
  }
  checkTimezone(timezone);
  try {
    const cron = new Cron(expression, { paused: true, timezone });
    if (cron.nextRun(new Date(0)) === null) throw new Error('it names no time at all');
    return cron;
  } catch (err) {
    throw new ScheduleError(
      'cron',
      `cron: "${expression}" is not a valid cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}`,
    );
  }
}
