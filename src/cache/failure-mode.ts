/**
 * What the tiered cache does when an L2 call fails (behaviour.md C5), after bentocache's
 * named failure modes: "L2 errors are ignored when L1 can answer".
 *
 * - `l1Only` (default): log, count, and carry on with L1 alone (a read is a miss, a write
 *   keeps the L1 copy).
 * - `error`: the L2 error reaches the caller; a write goes to L2 first and leaves L1
 *   untouched when L2 fails.
 * - `retry`: up to `attempts` tries in all (the first included); between tries wait
 *   25, 50, 100 ... ms, capped at 1 s, plus 0-25 % jitter from the injected Random, on the
 *   injected Clock. Only `connection` and `unknown` errors are retried (a `timeout` may
 *   have been applied, a `command` or `corrupt` error will not change). When the tries run
 *   out it behaves as `l1Only`.
 */
import type { Clock } from "../shared/clock.js";
import type { Random } from "../shared/random.js";
import { L2Error } from "./ports.js";

/** The failure mode of one cache instance. */
export type FailureMode =
  | { readonly kind: "l1Only" }
  | { readonly kind: "error" }
  | { readonly kind: "retry"; readonly attempts: number };

/** The default failure mode. */
export const DEFAULT_FAILURE_MODE: FailureMode = { kind: "l1Only" };
/** Delay before the first retry. */
export const RETRY_BASE_DELAY_MS = 25;
/** Cap on a retry delay before jitter. */
export const RETRY_MAX_DELAY_MS = 1_000;
/** Jitter added on top of a delay, as a fraction of it (0-25 %). */
export const RETRY_MAX_JITTER_FRACTION = 0.25;

/**
 * The wait before retry number `retry` (1 = before the second try): 25 * 2^(retry-1) ms
 * capped at 1000, plus `jitter` (in [0, 1)) times 25 % of that. Pure, so tests assert it exactly.
 */
export function retryDelayMs(retry: number, jitter: number): number {
  const base = Math.min(RETRY_BASE_DELAY_MS * 2 ** (retry - 1), RETRY_MAX_DELAY_MS);
  return base + base * RETRY_MAX_JITTER_FRACTION * jitter;
}

/** Every wait of a retry run with `attempts` tries, drawing one jitter per wait from `random`. */
export function retrySchedule(attempts: number, random: { next(): number }): number[] {
  const delays: number[] = [];
  for (let retry = 1; retry < attempts; retry++) delays.push(retryDelayMs(retry, random.next()));
  return delays;
}

/** True for the L2 error kinds worth another try. */
export function isRetryable(error: L2Error): boolean {
  return error.kind === "connection" || error.kind === "unknown";
}

/** `error` as an L2Error; anything else an adapter throws counts as `unknown`. */
export function toL2Error(error: unknown): L2Error {
  if (error instanceof L2Error) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new L2Error("unknown", message, { cause: error });
}

/** Called after every failed try. */
export type TryFailed = (error: L2Error, attempt: number, willRetry: boolean) => void;

/** What a retry run needs from the cache. */
export interface RetryContext {
  readonly mode: FailureMode;
  readonly clock: Clock;
  readonly random: Random;
  readonly onFailure: TryFailed;
}

/**
 * Runs `call` under the failure mode's retry rule and returns its value, or throws the last
 * L2Error. What a final failure means (miss, propagate) is the caller's business.
 */
export async function runWithRetry<T>(call: () => Promise<T>, context: RetryContext): Promise<T> {
  const attempts = context.mode.kind === "retry" ? context.mode.attempts : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (thrown) {
      const error = toL2Error(thrown);
      const willRetry = attempt < attempts && isRetryable(error);
      context.onFailure(error, attempt, willRetry);
      if (!willRetry) throw error;
      await sleep(context.clock, retryDelayMs(attempt, context.random.next()));
    }
  }
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, ms);
  });
}
