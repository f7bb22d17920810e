/**
 * What a backend has left, as of one instant, and the pure questions the balancer asks of
 * it: the remaining ratio for most_available (S8) and the quota filter (Q5), and when it
 * recovers, for the RetryInfo of RESOURCE_EXHAUSTED (Q5). A status is plain data: limiters
 * return one after every operation, so a caller can keep the latest per backend and answer
 * these synchronously on the hot path.
 */
import { type RecoveryStep, stepsMsUntilFits } from "./sliding-window.js";
import { type DrainRecovery, drainMsUntilFits } from "./token-bucket.js";

/** How usage leaves: in steps (sliding and fixed windows) or by draining (token bucket). */
export type Recovery =
  | { readonly kind: "steps"; readonly steps: readonly RecoveryStep[] }
  | ({ readonly kind: "drain" } & DrainRecovery);

/** One dimension of a backend at `QuotaStatus.atMs`. */
export interface DimensionStatus {
  readonly limit: number;
  /** Units in the window; may exceed `limit` after a true-up charged more than was reserved. */
  readonly usage: number;
  /** max(0, limit - usage). */
  readonly remaining: number;
  readonly recovery: Recovery;
}

/** A backend's quota as of `atMs`. */
export interface QuotaStatus {
  /** The caller's clock when the status was taken (epoch ms). */
  readonly atMs: number;
  /** Milliseconds the RATE_LIMITED mark (Q4) still holds; 0 when not marked. */
  readonly markedForMs: number;
  /** Per limited dimension of the backend. */
  readonly dimensions: Readonly<Record<string, DimensionStatus>>;
}

/** The status of a backend without limits or marks. */
export function unlimitedStatus(atMs: number): QuotaStatus {
  return { atMs, markedForMs: 0, dimensions: {} };
}

/**
 * The remaining share of a backend's quota, min over its dimensions (S8): 1 with no limits,
 * 0 while marked exhausted (Q4) or when any dimension is used up. Always within [0, 1].
 */
export function remainingRatio(status: QuotaStatus): number {
  if (status.markedForMs > 0) return 0;
  let ratio = 1;
  for (const name in status.dimensions) {
    const d = status.dimensions[name]!;
    ratio = Math.min(ratio, d.limit > 0 ? d.remaining / d.limit : 0);
  }
  return Math.max(0, ratio);
}

/** Milliseconds until `need` units fit in dimension `d`: 0 now, Infinity never (need > limit). */
export function msUntilFits(d: DimensionStatus, need: number): number {
  if (d.recovery.kind === "steps") return stepsMsUntilFits(d.usage, d.recovery.steps, d.limit, need);
  return drainMsUntilFits(d.recovery, d.limit, need);
}

/**
 * The units a dimension must have free to count as recovered under `threshold` (the quota
 * filter's remaining ratio): threshold x limit, and at least one unit (or the whole limit
 * when it is below one) so that "ratio > 0" means a request of one unit fits.
 */
export function recoveryNeed(limit: number, threshold: number): number {
  return Math.max(threshold * limit, Math.min(1, limit));
}

/**
 * Milliseconds until the backend passes the quota filter at `threshold`: its mark has lifted
 * and every dimension has `recoveryNeed` units free. 0 when it passes now, assuming no
 * other traffic in between.
 */
export function recoveryMs(status: QuotaStatus, threshold = 0): number {
  let ms = status.markedForMs;
  for (const name in status.dimensions) {
    const d = status.dimensions[name]!;
    ms = Math.max(ms, msUntilFits(d, recoveryNeed(d.limit, threshold)));
  }
  return ms;
}

/**
 * The RetryInfo delay of RESOURCE_EXHAUSTED (Q5): milliseconds until the first of
 * `statuses` recovers (min over backends of `recoveryMs`), measured from `nowMs` (each
 * status is aged by `nowMs - atMs`); Infinity when there are none.
 */
export function earliestRecoveryMs(statuses: Iterable<QuotaStatus>, nowMs: number, threshold = 0): number {
  let earliest = Number.POSITIVE_INFINITY;
  for (const status of statuses) {
    earliest = Math.min(earliest, Math.max(0, recoveryMs(status, threshold) - (nowMs - status.atMs)));
  }
  return earliest;
}
