/** The longest a long poll (`worker/claim`, `worker/wait`) is held open. */
export const MAX_WAIT_MS = 60_000;

/**
 * A signal that aborts when `parent` does or after `ms` (at most MAX_WAIT_MS). (AbortSignal.any
 * and AbortSignal.timeout cost a DOMException per long poll; this costs a timer.)
 */
export function longPollSignal(parent: AbortSignal, ms: number): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    clearTimeout(timer);
    parent.removeEventListener('abort', abort);
    controller.abort('done'); // a reason of its own: the default one is a DOMException, built each time
  };
  const timer = setTimeout(abort, Math.max(0, Math.min(ms, MAX_WAIT_MS)));
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  return controller.signal;
}
