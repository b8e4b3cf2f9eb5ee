/**
 * The ranges the HTTP API accepts, so that every value that reaches the store is one it can
 * hold and read back (docs/http-api.md, "Limits"). A value outside them is a 400 that says
 * which range was expected.
 */

/** The most jobs one list (`per_page`, `limit`) or one claim returns. */
export const MAX_PAGE = 10_000;

/** The latest a time in epoch milliseconds may be: JavaScript's Date range (year 275760). */
export const MAX_TIME_MS = 8.64e15;

/** The furthest ahead a job may be scheduled (`scheduled_in_secs`): ten years. */
export const MAX_DELAY_SECS = 10 * 365 * 24 * 3600;

/** The longest timeout a job may have (`timeout`), in seconds: ten years. */
export const MAX_TIMEOUT_SECS = MAX_DELAY_SECS;

/** The most attempts a retry policy may ask for. */
export const MAX_ATTEMPTS = 1000;

/** The longest lease a worker may ask for, in milliseconds: a day. */
export const MAX_LEASE_MS = 24 * 3600 * 1000;

/** The largest log cursor (`after`, `log_offset`): the largest integer a double holds exactly. */
export const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

/** The highest `page` of a Windmill listing: with `per_page` at most MAX_PAGE, its offset stays an exact integer. */
export const MAX_LIST_PAGE = 1_000_000;
