/**
 * How a request's cost and a Report's usage map onto a backend's limits (behaviour.md Q3,
 * Q8): one amount per limited dimension, plus the dimensions nobody limits (ignored, and
 * returned so the caller can count them).
 *
 * A value that is not a finite number >= 0 reads as 0 (the RPC layer rejects such values
 * with INVALID_ARGUMENT before they get here; the limiter just never throws over them).
 */
import type { QuotaLimitSpec } from "../model/specs.js";
import type { Reservation } from "./quota-limiter.js";

/** The dimension that counts requests. */
export const REQUESTS_DIMENSION = "requests";
/** What a request costs on REQUESTS_DIMENSION when its cost does not say. */
export const DEFAULT_REQUEST_COST = 1;

/** Amounts per limit (aligned with `limits`) and the cost dimensions without a limit. */
export interface Amounts {
  readonly amounts: number[];
  readonly ignored: string[];
}

function units(value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  return Number.isFinite(value) && value >= 0 ? value : 0;
}

function ignoredKeys(values: Readonly<Record<string, number>>, known: readonly string[]): string[] {
  const ignored: string[] = [];
  for (const name in values) if (!known.includes(name)) ignored.push(name);
  return ignored;
}

function dimensionsOf(limits: readonly QuotaLimitSpec[]): string[] {
  const names: string[] = [];
  for (const spec of limits) names.push(spec.dimension);
  return names;
}

/**
 * The amount each limit takes for `cost`: its cost entry, else DEFAULT_REQUEST_COST for
 * REQUESTS_DIMENSION and 0 for every other dimension.
 */
export function costAmounts(
  limits: readonly QuotaLimitSpec[],
  cost: Readonly<Record<string, number>>,
): Amounts {
  const amounts: number[] = [];
  for (const spec of limits) {
    const fallback = spec.dimension === REQUESTS_DIMENSION ? DEFAULT_REQUEST_COST : 0;
    amounts.push(units(cost[spec.dimension]) ?? fallback);
  }
  return { amounts, ignored: ignoredKeys(cost, dimensionsOf(limits)) };
}

/**
 * The change per reserved dimension (aligned with `reservation.dimensions`) that settles it
 * to `usage`: usage - reserved where usage names the dimension, 0 where it does not.
 */
export function trueUpDeltas(reservation: Reservation, usage: Readonly<Record<string, number>>): Amounts {
  const amounts = reservation.dimensions.map(({ spec, amount }) => {
    const actual = units(usage[spec.dimension]);
    return actual === undefined ? 0 : actual - amount;
  });
  const known = reservation.dimensions.map((d) => d.spec.dimension);
  return { amounts, ignored: ignoredKeys(usage, known) };
}

/**
 * Q9: the usage to true `reservation` up to when its Report also carries the upstream's
 * `remaining`, an observation of the upstream's window when the call reached it. The upstream
 * then counted what Fulcrum held right after the reservation (`usageAfter`), with this
 * call's real usage in place of its estimate; only what it counted beyond that is usage
 * Fulcrum did not know of. That excess joins this call's charge, so it leaves the window with
 * the call's own units, as it does upstream; nothing Fulcrum already holds is charged again.
 * Comparing with the window as it is at Report time instead would count again every unit
 * that left it while the call was in flight, and hold it a whole window more.
 */
export function reconciledUsage(
  reservation: Reservation,
  usage: Readonly<Record<string, number>>,
  remaining: Readonly<Record<string, number>>,
): Record<string, number> {
  const reconciled: Record<string, number> = { ...usage };
  for (const { spec, amount, usageAfter } of reservation.dimensions) {
    const upstreamRemaining = units(remaining[spec.dimension]);
    if (upstreamRemaining === undefined) continue;
    const actual = units(usage[spec.dimension]) ?? amount;
    const unknownToFulcrum = spec.limit - upstreamRemaining - (usageAfter - amount + actual);
    reconciled[spec.dimension] = actual + Math.max(0, unknownToFulcrum);
  }
  return reconciled;
}

/** The change per reserved dimension that gives the whole reservation back. */
export function releaseDeltas(reservation: Reservation): number[] {
  return reservation.dimensions.map(({ amount }) => -amount);
}

/**
 * Upstream remaining per limit (aligned with `limits`), undefined where it says nothing,
 * and the reported dimensions without a limit.
 */
export function upstreamRemainingOf(
  limits: readonly QuotaLimitSpec[],
  remaining: Readonly<Record<string, number>>,
): { readonly values: (number | undefined)[]; readonly ignored: string[] } {
  return {
    values: limits.map((spec) => units(remaining[spec.dimension])),
    ignored: ignoredKeys(remaining, dimensionsOf(limits)),
  };
}
