/**
 * Sliding window with buckets (behaviour.md Q1, Q2).
 *
 * What: a window of `windowMs` is cut into `buckets` equal buckets; bucket i covers
 * [i * windowMs / buckets, (i + 1) * windowMs / buckets). A unit admitted at t is charged to
 * the bucket after the one t falls in (chargeIndex), and usage at time t is the sum of the
 * last `buckets` buckets up to and including the one t falls in, plus the next one (and any
 * later bucket a replica whose clock runs ahead has charged: counting them is the safe
 * side). A request is admitted when usage + cost <= limit; remaining = limit - usage, never
 * below 0, recovering in steps as each bucket leaves the window.
 *
 * Why: a log of every request is exact but costs memory per request; one counter per window
 * (fixed window) lets 2 x limit through within a millisecond across a window edge. Buckets
 * bound memory by `buckets` numbers per dimension. Charging the next bucket means a unit
 * leaves a whole window after the END of the bucket it was admitted in: never before a true
 * sliding window (an upstream keeping a log) frees it, so any stretch of windowMs admits at
 * most `limit` and a retry at the computed recovery time is never early upstream; the cost
 * is holding a unit up to one bucket longer than the upstream does (docs/quota.md).
 *
 * Reference: the time-bucketed ring of Netflix Hystrix's HystrixRollingNumber and
 * resilience4j's SlidingTimeWindowMetrics; Figma's "sliding window counters" write-up. The
 * Redis Lua twin of every function here is in store/redis/quota-scripts.ts; both must do
 * the same floating-point operations in the same order (integer inputs are exact).
 */

/** Units charged per bucket index. Buckets that left the window may linger until pruned. */
export type WindowState = Map<number, number>;

/** One step of recovery: `units` leave the window `inMs` from now. */
export interface RecoveryStep {
  readonly inMs: number;
  readonly units: number;
}

/** Index of the bucket `nowMs` falls in. */
export function bucketIndex(nowMs: number, windowMs: number, buckets: number): number {
  return Math.floor((nowMs * buckets) / windowMs);
}

/**
 * The bucket a charge at `atMs` goes into: the bucket after the one `atMs` falls in, when
 * there are several. A unit then leaves the window a whole window after the END of the bucket
 * it was admitted in, never before a whole window has passed since its admission: the window
 * never frees units earlier than a true sliding window (an upstream enforcing one) does, so
 * a retry at the RetryInfo time finds the upstream ready too. It holds a unit at most one
 * bucket longer than that. With one bucket (a fixed window) charges stay in their own window.
 */
export function chargeIndex(atMs: number, windowMs: number, buckets: number): number {
  return bucketIndex(atMs, windowMs, buckets) + (buckets > 1 ? 1 : 0);
}

/** The first whole millisecond at which bucket `index` is out of the window. */
export function bucketExpiresAt(index: number, windowMs: number, buckets: number): number {
  return Math.ceil(((index + buckets) * windowMs) / buckets);
}

/** Bucket indices of `state` still in the window at `nowMs`, ascending. */
function liveIndices(state: WindowState, nowMs: number, windowMs: number, buckets: number): number[] {
  const oldest = bucketIndex(nowMs, windowMs, buckets) - buckets;
  const live: number[] = [];
  for (const index of state.keys()) if (index > oldest) live.push(index);
  return live.sort((a, b) => a - b);
}

/** Units in the window at `nowMs`, summed in ascending bucket order (the Lua does the same). */
export function windowUsage(state: WindowState, nowMs: number, windowMs: number, buckets: number): number {
  // Buckets are almost always inserted in ascending order: sum in one pass, sort only if not.
  const oldest = bucketIndex(nowMs, windowMs, buckets) - buckets;
  let usage = 0;
  let previous = Number.NEGATIVE_INFINITY;
  for (const [index, units] of state) {
    if (index <= oldest) continue;
    if (index < previous) return sortedUsage(state, nowMs, windowMs, buckets);
    previous = index;
    usage += units;
  }
  return usage;
}

function sortedUsage(state: WindowState, nowMs: number, windowMs: number, buckets: number): number {
  let usage = 0;
  for (const index of liveIndices(state, nowMs, windowMs, buckets)) usage += state.get(index)!;
  return usage;
}

/** True when `need` more units fit under `limit` with `usage` already in the window. */
export function windowFits(usage: number, need: number, limit: number): boolean {
  return usage + need <= limit;
}

/** Drops buckets that left the window at `nowMs`. */
export function windowPrune(state: WindowState, nowMs: number, windowMs: number, buckets: number): void {
  const oldest = bucketIndex(nowMs, windowMs, buckets) - buckets;
  for (const index of state.keys()) if (index <= oldest) state.delete(index);
}

/**
 * Adds `units` (> 0) to the bucket of `nowMs + aheadMs` (a call the upstream counts up to
 * `aheadMs` after Fulcrum admits it), then prunes.
 */
export function windowCharge(
  state: WindowState,
  nowMs: number,
  windowMs: number,
  buckets: number,
  units: number,
  aheadMs = 0,
): void {
  const index = chargeIndex(nowMs + aheadMs, windowMs, buckets);
  state.set(index, (state.get(index) ?? 0) + units);
  windowPrune(state, nowMs, windowMs, buckets);
}

/**
 * Adds `units` (> 0) to the bucket that `chargedAtMs` falls in, if that bucket is still in
 * the window at `nowMs` (usage above a reservation belongs to when the call was admitted: the
 * upstream counted it then and releases it a window after). Then prunes.
 */
export function windowChargeAt(
  state: WindowState,
  chargedAtMs: number,
  nowMs: number,
  windowMs: number,
  buckets: number,
  units: number,
): void {
  const index = chargeIndex(Math.min(chargedAtMs, nowMs), windowMs, buckets);
  if (index > bucketIndex(nowMs, windowMs, buckets) - buckets)
    state.set(index, (state.get(index) ?? 0) + units);
  windowPrune(state, nowMs, windowMs, buckets);
}

/**
 * The bucket a short-lived charge of `holdMs` (whole ms) at `nowMs` goes into: the oldest
 * bucket that leaves the window no earlier than `nowMs + holdMs`, so the units are held at
 * least `holdMs` and at most one bucket longer, and never longer than a charge made now. With
 * one bucket (a fixed window) that is the current window.
 */
export function holdIndex(nowMs: number, holdMs: number, windowMs: number, buckets: number): number {
  // A bucket still in the window 1 ms before nowMs + holdMs leaves it at nowMs + holdMs or later.
  const live = (atMs: number) => bucketIndex(atMs, windowMs, buckets) - buckets + 1;
  return Math.min(Math.max(live(nowMs + holdMs - 1), live(nowMs)), chargeIndex(nowMs, windowMs, buckets));
}

/** Adds `units` (> 0) for `holdMs` from `nowMs` (holdIndex), then prunes. */
export function windowHold(
  state: WindowState,
  nowMs: number,
  holdMs: number,
  windowMs: number,
  buckets: number,
  units: number,
): void {
  const index = holdIndex(nowMs, holdMs, windowMs, buckets);
  state.set(index, (state.get(index) ?? 0) + units);
  windowPrune(state, nowMs, windowMs, buckets);
}

/**
 * Takes `units` (> 0) back from the bucket that `chargedAtMs` charged, if that bucket is
 * still in the window at `nowMs` (a refund of usage that already left the window is moot);
 * a bucket never goes below 0 and an emptied bucket is deleted. Then prunes.
 */
export function windowRefund(
  state: WindowState,
  chargedAtMs: number,
  nowMs: number,
  windowMs: number,
  buckets: number,
  units: number,
): void {
  const index = chargeIndex(chargedAtMs, windowMs, buckets);
  const held = state.get(index);
  if (held !== undefined && index > bucketIndex(nowMs, windowMs, buckets) - buckets) {
    const left = held - units;
    if (left > 0) state.set(index, left);
    else state.delete(index);
  }
  windowPrune(state, nowMs, windowMs, buckets);
}

/** When the units in the window leave it: one step per non-empty live bucket, oldest first. */
export function windowSteps(
  state: WindowState,
  nowMs: number,
  windowMs: number,
  buckets: number,
): RecoveryStep[] {
  const steps: RecoveryStep[] = [];
  for (const index of liveIndices(state, nowMs, windowMs, buckets)) {
    const units = state.get(index)!;
    if (units > 0) steps.push({ inMs: bucketExpiresAt(index, windowMs, buckets) - nowMs, units });
  }
  return steps;
}

/**
 * Milliseconds until `need` units fit, given `usage` now and the `steps` in which it leaves:
 * 0 when they fit now, Infinity when `need` exceeds `limit` (it never fits).
 */
export function stepsMsUntilFits(
  usage: number,
  steps: readonly RecoveryStep[],
  limit: number,
  need: number,
): number {
  if (windowFits(usage, need, limit)) return 0;
  if (need > limit) return Number.POSITIVE_INFINITY;
  let left = usage;
  for (const step of steps) {
    left -= step.units;
    if (windowFits(left, need, limit)) return step.inMs;
  }
  // Only float rounding gets here: once every step has passed the window is empty.
  return steps.at(-1)?.inMs ?? 0;
}

/** How long the state still matters at `nowMs`: until its newest bucket leaves the window. */
export function windowTtlMs(state: WindowState, nowMs: number, windowMs: number, buckets: number): number {
  let newest = Number.NEGATIVE_INFINITY;
  for (const index of state.keys()) newest = Math.max(newest, index);
  if (newest === Number.NEGATIVE_INFINITY) return 0;
  return Math.max(0, bucketExpiresAt(newest, windowMs, buckets) - nowMs);
}
