/**
 * One limited dimension of a backend: picks the algorithm of its spec (sliding window,
 * fixed window, token bucket) and gives every limiter the same operations on its state.
 * The memory limiter keeps these states; the Redis limiter's Lua keeps the same numbers as
 * packed doubles per dimension and returns them, so this file also turns those numbers back
 * into a state.
 */
import type { QuotaLimitSpec } from "../model/specs.js";
import { windowBuckets } from "./fixed-window.js";
import type { DimensionStatus } from "./quota-status.js";
import {
  type WindowState,
  windowCharge,
  windowChargeAt,
  windowFits,
  windowHold,
  windowPrune,
  windowRefund,
  windowSteps,
  windowTtlMs,
  windowUsage,
} from "./sliding-window.js";
import {
  type BucketState,
  bucketCharge,
  bucketFits,
  bucketRaiseTo,
  bucketRecovery,
  bucketRefund,
  bucketTtlMs,
  emptyBucket,
  levelAt,
} from "./token-bucket.js";

/** The state of one dimension: window buckets, or a token bucket. */
export type DimensionState = WindowState | BucketState;

function isWindow(state: DimensionState): state is WindowState {
  return state instanceof Map;
}

/**
 * What the state's shape depends on: "w/<windowMs>/<buckets>" or "t/<windowMs>". A spec
 * change that alters it starts the dimension afresh (old state would be misread); a changed
 * limit alone keeps the usage.
 */
export function stateLayout(spec: QuotaLimitSpec): string {
  return spec.algorithm === "token_bucket"
    ? `t/${spec.windowMs}`
    : `w/${spec.windowMs}/${windowBuckets(spec)}`;
}

/** A fresh, empty state for `spec`. */
export function emptyState(spec: QuotaLimitSpec): DimensionState {
  return spec.algorithm === "token_bucket" ? emptyBucket() : new Map();
}

/** True when the state holds nothing (it may be dropped). */
export function isEmptyState(state: DimensionState): boolean {
  return isWindow(state) ? state.size === 0 : state.level === 0;
}

/** Units in use at `nowMs`. */
export function dimensionUsage(spec: QuotaLimitSpec, state: DimensionState, nowMs: number): number {
  if (isWindow(state)) return windowUsage(state, nowMs, spec.windowMs, windowBuckets(spec));
  return levelAt(state, nowMs, spec.limit) / spec.windowMs;
}

/** True when `need` more units fit at `nowMs`. */
export function dimensionFits(
  spec: QuotaLimitSpec,
  state: DimensionState,
  nowMs: number,
  need: number,
): boolean {
  if (isWindow(state))
    return windowFits(windowUsage(state, nowMs, spec.windowMs, windowBuckets(spec)), need, spec.limit);
  return bucketFits(levelAt(state, nowMs, spec.limit), need, spec.windowMs, spec.limit);
}

/**
 * Applies `delta` units: a charge (> 0) lands at `nowMs`; a refund (< 0) comes off what was
 * charged at `chargedAtMs` (see windowRefund, bucketRefund). 0 only prunes.
 */
export function dimensionAdjust(
  spec: QuotaLimitSpec,
  state: DimensionState,
  chargedAtMs: number,
  nowMs: number,
  delta: number,
): void {
  const { windowMs, limit } = spec;
  if (isWindow(state)) {
    const buckets = windowBuckets(spec);
    if (delta > 0) windowChargeAt(state, chargedAtMs, nowMs, windowMs, buckets, delta);
    else if (delta < 0) windowRefund(state, chargedAtMs, nowMs, windowMs, buckets, -delta);
    else windowPrune(state, nowMs, windowMs, buckets);
    return;
  }
  if (delta > 0) bucketCharge(state, nowMs, windowMs, limit, delta);
  else if (delta < 0) bucketRefund(state, nowMs, windowMs, limit, -delta);
}

/**
 * Q9: charges `units` (> 0) for about `holdMs` from `nowMs` (windowHold): usage the upstream
 * counted that Fulcrum will soon know of or see again. A token bucket has no such charge: it
 * takes the units now and drains them like any other.
 */
export function dimensionHold(
  spec: QuotaLimitSpec,
  state: DimensionState,
  nowMs: number,
  holdMs: number,
  units: number,
): void {
  if (isWindow(state)) windowHold(state, nowMs, holdMs, spec.windowMs, windowBuckets(spec), units);
  else bucketCharge(state, nowMs, spec.windowMs, spec.limit, units);
}

/**
 * Q3: a reservation's charge of `units` (> 0) at `nowMs`, which the upstream counts up to
 * `lagMs` later: a window charges the bucket of `nowMs + lagMs` (windowCharge), so the units
 * never leave it before the upstream frees them; a token bucket charges now.
 */
export function dimensionReserve(
  spec: QuotaLimitSpec,
  state: DimensionState,
  nowMs: number,
  lagMs: number,
  units: number,
): void {
  if (isWindow(state)) windowCharge(state, nowMs, spec.windowMs, windowBuckets(spec), units, lagMs);
  else bucketCharge(state, nowMs, spec.windowMs, spec.limit, units);
}

/** Raises usage to at least `usage` units at `nowMs` (an upstream correction, Q4). */
export function dimensionRaiseTo(
  spec: QuotaLimitSpec,
  state: DimensionState,
  nowMs: number,
  usage: number,
): void {
  if (!isWindow(state)) {
    bucketRaiseTo(state, nowMs, spec.windowMs, spec.limit, usage);
    return;
  }
  const buckets = windowBuckets(spec);
  const current = windowUsage(state, nowMs, spec.windowMs, buckets);
  if (usage > current) windowCharge(state, nowMs, spec.windowMs, buckets, usage - current);
}

/** The dimension's status at `nowMs`. */
export function dimensionStatus(spec: QuotaLimitSpec, state: DimensionState, nowMs: number): DimensionStatus {
  const usage = dimensionUsage(spec, state, nowMs);
  const remaining = Math.max(0, spec.limit - usage);
  if (isWindow(state)) {
    const steps = windowSteps(state, nowMs, spec.windowMs, windowBuckets(spec));
    return { limit: spec.limit, usage, remaining, recovery: { kind: "steps", steps } };
  }
  const drain = bucketRecovery(state, nowMs, spec.windowMs, spec.limit);
  return { limit: spec.limit, usage, remaining, recovery: { kind: "drain", ...drain } };
}

/** How long the state still matters at `nowMs`, in ms (0: it can go). */
export function dimensionTtlMs(spec: QuotaLimitSpec, state: DimensionState, nowMs: number): number {
  if (isWindow(state)) return windowTtlMs(state, nowMs, spec.windowMs, windowBuckets(spec));
  return bucketTtlMs(state, nowMs, spec.limit);
}

/**
 * The state from the numbers a store keeps for it (the Redis limiter's packed doubles): a
 * window is [index, units, index, units, ...], a token bucket [scaled level, at]. Pairs
 * with a number that is not finite are skipped.
 */
export function stateFromNumbers(spec: QuotaLimitSpec, values: readonly number[]): DimensionState {
  const state = emptyState(spec);
  if (!isWindow(state)) {
    const [level = 0, at = 0] = values;
    if (Number.isFinite(level) && Number.isFinite(at)) Object.assign(state, { level, at });
    return state;
  }
  for (let i = 0; i + 1 < values.length; i += 2) {
    const index = values[i]!;
    const units = values[i + 1]!;
    if (Number.isFinite(index) && Number.isFinite(units)) state.set(index, units);
  }
  return state;
}
