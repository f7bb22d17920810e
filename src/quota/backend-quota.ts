/**
 * The quota of one backend as pure steps over its dimension states: decide (check every
 * dimension), reserve (check all, then charge all), settle (true-up or release), correct
 * (upstream remaining) and status. The memory limiter runs these on the states it keeps;
 * the Redis limiter's Lua runs their twins atomically in Redis, returns the states it read,
 * and runs these on them to report the same decision and status.
 */
import type { QuotaLimitSpec } from "../model/specs.js";
import {
  type DimensionState,
  dimensionAdjust,
  dimensionFits,
  dimensionHold,
  dimensionRaiseTo,
  dimensionReserve,
  dimensionStatus,
  dimensionUsage,
} from "./dimension.js";
import type { HoldAmounts } from "./quota-cost.js";
import {
  type BackendQuotaKey,
  type CheckResult,
  MARKED_DIMENSION,
  type QuotaDenial,
  type Reservation,
  type ReserveMode,
  type ReserveResult,
} from "./quota-limiter.js";
import { type DimensionStatus, msUntilFits, type QuotaStatus } from "./quota-status.js";

/** A backend's limits, one state per limit (aligned), and its RATE_LIMITED mark. */
export interface BackendQuota {
  readonly limits: readonly QuotaLimitSpec[];
  readonly states: readonly DimensionState[];
  /** Epoch ms (caller's clock) until which the backend is marked exhausted; 0: not marked. */
  readonly markedUntilMs: number;
}

/** Whole ms from `nowMs` until `untilMs`, at least 1 when it is still ahead; 0 when past. */
function msUntil(untilMs: number, nowMs: number): number {
  return untilMs > nowMs ? Math.max(1, Math.ceil(untilMs - nowMs)) : 0;
}

/**
 * Why `amounts` (aligned with limits) would be refused at `nowMs`, or undefined when every
 * dimension fits and no mark holds. Each dimension must have room for its `needs` (the amount
 * with its margin, Q10; at least the amount). Several reasons: cost_exceeds_limit (an amount
 * above its limit) wins, else the one with the longest wait (every dimension must fit, so
 * that is when the whole cost fits).
 */
export function denialOf(
  quota: BackendQuota,
  amounts: readonly number[],
  nowMs: number,
  needs: readonly number[] = amounts,
): QuotaDenial | undefined {
  const markedMs = msUntil(quota.markedUntilMs, nowMs);
  let worst: QuotaDenial | undefined =
    markedMs > 0 ? { reason: "marked", dimension: MARKED_DIMENSION, retryAfterMs: markedMs } : undefined;
  for (let i = 0; i < quota.limits.length; i++) {
    const spec = quota.limits[i]!;
    const amount = amounts[i] ?? 0;
    const need = needs[i] ?? amount;
    const state = quota.states[i]!;
    if (dimensionFits(spec, state, nowMs, need)) continue;
    const dimension = spec.dimension;
    if (amount > spec.limit)
      return { reason: "cost_exceeds_limit", dimension, retryAfterMs: Number.POSITIVE_INFINITY };
    const retryAfterMs = Math.max(1, msUntilFits(dimensionStatus(spec, state, nowMs), need));
    if (!worst || retryAfterMs > worst.retryAfterMs) worst = { reason: "limit", dimension, retryAfterMs };
  }
  return worst;
}

/** What `reserveOn` did: the denial enforce mode gives (if any) and the reservation (if taken). */
export interface ReserveStep {
  readonly denial: QuotaDenial | undefined;
  readonly reservation: Reservation | undefined;
}

/**
 * Q3, Q7: decides on `amounts` (with room for `needs`, Q10); in enforce mode charges every
 * dimension only when all fit, in shadow mode charges regardless, as the upstream counts it
 * `lagMs` from now (dimensionReserve; the reservation's atMs names that moment). Only the
 * amounts are charged. Mutates the states it charges.
 */
export function reserveOn(
  quota: BackendQuota,
  key: BackendQuotaKey,
  amounts: readonly number[],
  nowMs: number,
  mode: ReserveMode,
  lagMs = 0,
  needs: readonly number[] = amounts,
): ReserveStep {
  const denial = denialOf(quota, amounts, nowMs, needs);
  if (denial && mode === "enforce") return { denial, reservation: undefined };
  for (let i = 0; i < quota.limits.length; i++) {
    const amount = amounts[i] ?? 0;
    if (amount > 0) dimensionReserve(quota.limits[i]!, quota.states[i]!, nowMs, lagMs, amount);
  }
  const dimensions = quota.limits.map((spec, i) => ({
    spec,
    amount: amounts[i] ?? 0,
    usageAfter: dimensionUsage(spec, quota.states[i]!, nowMs),
  }));
  return { denial, reservation: { key, atMs: nowMs + lagMs, dimensions } };
}

/** Q3: applies true-up or release `deltas` (aligned with limits) of a reservation made at `chargedAtMs`. */
export function settleOn(
  quota: BackendQuota,
  deltas: readonly number[],
  chargedAtMs: number,
  nowMs: number,
): void {
  for (let i = 0; i < quota.limits.length; i++) {
    const delta = deltas[i] ?? 0;
    if (delta !== 0) dimensionAdjust(quota.limits[i]!, quota.states[i]!, chargedAtMs, nowMs, delta);
  }
}

/** Q9: charges the `hold` amounts (aligned with limits) at `nowMs` for its holdMs (dimensionHold). */
export function holdOn(quota: BackendQuota, hold: HoldAmounts, nowMs: number): void {
  for (let i = 0; i < quota.limits.length; i++) {
    const units = hold.amounts[i] ?? 0;
    if (units > 0) dimensionHold(quota.limits[i]!, quota.states[i]!, nowMs, hold.holdMs, units);
  }
}

/** Q4: raises usage where the upstream's remaining (aligned with limits) is below the local view's. */
export function correctOn(
  quota: BackendQuota,
  upstream: readonly (number | undefined)[],
  nowMs: number,
): void {
  for (let i = 0; i < quota.limits.length; i++) {
    const remaining = upstream[i];
    const spec = quota.limits[i]!;
    if (remaining !== undefined && spec.limit - remaining > 0)
      dimensionRaiseTo(spec, quota.states[i]!, nowMs, spec.limit - remaining);
  }
}

/** The backend's status at `nowMs`. */
export function statusOf(quota: BackendQuota, nowMs: number): QuotaStatus {
  const dimensions: Record<string, DimensionStatus> = {};
  for (let i = 0; i < quota.limits.length; i++) {
    const spec = quota.limits[i]!;
    dimensions[spec.dimension] = dimensionStatus(spec, quota.states[i]!, nowMs);
  }
  return { atMs: nowMs, markedForMs: msUntil(quota.markedUntilMs, nowMs), dimensions };
}

/** The ReserveResult of a reserve step, with the status after it and the ignored dimensions. */
export function reserveResult(
  step: ReserveStep,
  status: QuotaStatus,
  ignored: readonly string[],
): ReserveResult {
  if (step.reservation)
    return { ok: true, reservation: step.reservation, shadowDenial: step.denial, status, ignored };
  return { ok: false, ...step.denial!, status, ignored };
}

/** The CheckResult of a denial (or none), with the status and the ignored dimensions. */
export function checkResult(
  denial: QuotaDenial | undefined,
  status: QuotaStatus,
  ignored: readonly string[],
): CheckResult {
  return denial ? { ok: false, ...denial, status, ignored } : { ok: true, status, ignored };
}
