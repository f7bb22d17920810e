/**
 * Time as the core sees it. Every timer in Fulcrum (health, probes, quota windows, TTLs,
 * leases, backoff) goes through a Clock so tests can drive virtual time (behaviour.md O2).
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `delayMs`; the handle cancels it. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque timer handle of a Clock. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** The real clock. Its timers never keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, delayMs) {
    const timer = setTimeout(fn, delayMs);
    timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** Repeats `fn` every `intervalMs` on `clock` until the returned function is called. */
export function every(clock: Clock, intervalMs: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    fn();
    if (!stopped) handle = clock.setTimeout(tick, intervalMs);
  };
  handle = clock.setTimeout(tick, intervalMs);
  return () => {
    stopped = true;
    if (handle) clock.clearTimeout(handle);
  };
}
