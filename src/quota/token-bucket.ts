/**
 * Token bucket / GCRA (behaviour.md Q1, Q2).
 *
 * What: a bucket of capacity `limit` that drains continuously at `limit` units per
 * `windowMs`; usage is its level, a request is admitted when level + cost <= limit, and
 * remaining = limit - level (never below 0) recovers smoothly as it drains. A true-up that
 * charges past the limit leaves the level above it: the backend stays exhausted until the
 * debt drains.
 *
 * Why: no window edge at all (bursts up to `limit`, then a steady rate), and two numbers of
 * state per dimension. The level is kept in scaled units (units x windowMs), so with whole
 * units and milliseconds every operation is exact integer arithmetic in a double (below
 * 2^53): the TypeScript and the Lua compute bit-identical results, and a retry-after of r ms
 * is exactly the first millisecond at which the cost fits.
 *
 * Reference: the Generic Cell Rate Algorithm (ATM Forum TM 4.0; the "virtual scheduling"
 * form in Brandur Leach, "Rate limiting, cells, and GCRA", and redis-cell's CL.THROTTLE).
 * GCRA's theoretical arrival time is `at + level / limit` here: the same algorithm, stored as
 * a level so a refund is a subtraction. The Lua twin is in store/redis/quota-scripts.ts.
 */

/** Level in scaled units (units x windowMs) as of `at` (epoch ms). */
export interface BucketState {
  level: number;
  at: number;
}

/** How a bucket recovers from now: `scaledLevel` drains at `limit` per ms after `startsInMs`. */
export interface DrainRecovery {
  readonly scaledLevel: number;
  readonly windowMs: number;
  /** 0 unless the state was written by a clock ahead of this one: no drain until then. */
  readonly startsInMs: number;
}

/** An empty bucket. */
export function emptyBucket(): BucketState {
  return { level: 0, at: 0 };
}

/** The scaled level at `nowMs`: drained since `at`, never below 0; no drain before `at`. */
export function levelAt(state: BucketState, nowMs: number, limit: number): number {
  return nowMs > state.at ? Math.max(0, state.level - (nowMs - state.at) * limit) : state.level;
}

/** True when `need` more units fit at scaled level `level`. */
export function bucketFits(level: number, need: number, windowMs: number, limit: number): boolean {
  return level + need * windowMs <= limit * windowMs;
}

/** Usage in units at `nowMs`. */
export function bucketUsage(state: BucketState, nowMs: number, windowMs: number, limit: number): number {
  return levelAt(state, nowMs, limit) / windowMs;
}

/** Adds `units` (> 0) at `nowMs`. */
export function bucketCharge(
  state: BucketState,
  nowMs: number,
  windowMs: number,
  limit: number,
  units: number,
): void {
  state.level = levelAt(state, nowMs, limit) + units * windowMs;
  state.at = Math.max(state.at, nowMs);
}

/** Takes `units` (> 0) back at `nowMs`; the level never goes below 0 (no credit). */
export function bucketRefund(
  state: BucketState,
  nowMs: number,
  windowMs: number,
  limit: number,
  units: number,
): void {
  state.level = Math.max(0, levelAt(state, nowMs, limit) - units * windowMs);
  state.at = Math.max(state.at, nowMs);
}

/** Raises the level so usage is at least `usage` units (never lowers it). */
export function bucketRaiseTo(
  state: BucketState,
  nowMs: number,
  windowMs: number,
  limit: number,
  usage: number,
): void {
  state.level = Math.max(levelAt(state, nowMs, limit), usage * windowMs);
  state.at = Math.max(state.at, nowMs);
}

/** The recovery view of `state` at `nowMs`. */
export function bucketRecovery(
  state: BucketState,
  nowMs: number,
  windowMs: number,
  limit: number,
): DrainRecovery {
  return {
    scaledLevel: levelAt(state, nowMs, limit),
    windowMs,
    startsInMs: Math.max(0, state.at - nowMs),
  };
}

/**
 * Whole milliseconds until `need` units fit: 0 when they fit now, Infinity when `need`
 * exceeds `limit`. The first guess is corrected by the same level formula admission uses,
 * so the answer is the first millisecond at which a reserve would pass.
 */
export function drainMsUntilFits(recovery: DrainRecovery, limit: number, need: number): number {
  const { scaledLevel, windowMs, startsInMs } = recovery;
  if (bucketFits(scaledLevel, need, windowMs, limit)) return 0;
  if (need > limit) return Number.POSITIVE_INFINITY;
  let ms = Math.max(1, Math.ceil((scaledLevel + need * windowMs - limit * windowMs) / limit));
  for (let i = 0; i < 4 && !bucketFits(Math.max(0, scaledLevel - ms * limit), need, windowMs, limit); i++)
    ms++;
  return startsInMs + ms;
}

/** How long the state still matters at `nowMs`: until it has drained. */
export function bucketTtlMs(state: BucketState, nowMs: number, limit: number): number {
  return Math.ceil(levelAt(state, nowMs, limit) / limit) + Math.max(0, state.at - nowMs);
}
