/**
 * One limited dimension of a backend: picks the algorithm of its spec (sliding window,
 * fixed window, token bucket) and gives every limiter the same operations on its state.
 * The memory limiter keeps these states; the Redis limiter's Lua keeps the same numbers in
 * a hash per dimension (fields: bucket index -> units, or `l` level and `a` at) and returns
 * them, so this file also turns those fields back into a state.
 */
import type { QuotaLimitSpec } from "../registry/model.js";
import { windowBuckets } from "./fixed-window.js";
import type { DimensionStatus } from "./quota-status.js";
import {
  type WindowState,
  windowCharge,
  windowFits,
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
    if (delta > 0) windowCharge(state, nowMs, windowMs, buckets, delta);
    else if (delta < 0) windowRefund(state, chargedAtMs, nowMs, windowMs, buckets, -delta);
    else windowPrune(state, nowMs, windowMs, buckets);
    return;
  }
  if (delta > 0) bucketCharge(state, nowMs, windowMs, limit, delta);
  else if (delta < 0) bucketRefund(state, nowMs, windowMs, limit, -delta);
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
 * The state stored as a flat field/value list (a Redis HGETALL reply): window fields are
 * bucket index -> units; a token bucket has `l` (scaled level) and `a` (at). Unparseable
 * numbers read as absent.
 */
export function stateFromFields(spec: QuotaLimitSpec, fields: readonly string[]): DimensionState {
  const state = emptyState(spec);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const value = Number(fields[i + 1]);
    if (!Number.isFinite(value)) continue;
    if (isWindow(state)) {
      const index = Number(fields[i]);
      if (Number.isFinite(index)) state.set(index, value);
    } else if (fields[i] === "l") state.level = value;
    else if (fields[i] === "a") state.at = value;
  }
  return state;
}
