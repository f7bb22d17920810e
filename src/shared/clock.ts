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

/**
 * The longest delay a Node timer honours: 2^31 - 1 ms (24.8 days). Node runs a longer one
 * after 1 ms, so every duration that ends in a timer is validated against this,
 * and the system clock chains longer delays instead of firing them early.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A system timer, possibly a chain of several when the delay is past MAX_TIMER_MS. */
interface ChainedTimer {
  current: NodeJS.Timeout;
}

function startChained(fn: () => void, delayMs: number, timer: ChainedTimer): void {
  const step = Math.min(delayMs, MAX_TIMER_MS);
  const rest = delayMs - step;
  timer.current = setTimeout(rest > 0 ? () => startChained(fn, rest, timer) : fn, step);
  timer.current.unref();
}

/** The real clock. Its timers never keep the process alive; a delay past MAX_TIMER_MS is chained, never shortened. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, delayMs) {
    const timer = {} as ChainedTimer;
    startChained(fn, Number.isFinite(delayMs) ? Math.max(0, delayMs) : MAX_TIMER_MS, timer);
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout((handle as ChainedTimer).current);
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
