/**
 * How a request's cost and a Report's usage map onto a backend's limits (behaviour.md Q3,
 * Q8): one amount per limited dimension, plus the dimensions nobody limits (ignored, and
 * returned so the caller can count them).
 *
 * A value that is not a finite number >= 0 reads as 0 (the RPC layer rejects such values
 * with INVALID_ARGUMENT before they get here; the limiter just never throws over them).
 */
import type { QuotaLimitSpec } from "../model/specs.js";
import type { HeldUsage, Reservation } from "./quota-limiter.js";

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
 * The room each limit must have for `amounts` to be admitted under `margin` (Q10): amount x
 * the dimension's factor rounded up to whole units (whole units keep the token bucket's math
 * exact), never below the amount nor above the limit (a cost that fits an empty window is
 * never refused for its margin). `amounts` itself when no factor is above 1.
 */
export function needAmounts(
  limits: readonly QuotaLimitSpec[],
  amounts: readonly number[],
  margin: Readonly<Record<string, number>> | undefined,
): readonly number[] {
  if (!margin) return amounts;
  let needs: number[] | undefined;
  for (let i = 0; i < limits.length; i++) {
    const spec = limits[i]!;
    const amount = amounts[i] ?? 0;
    const factor = margin[spec.dimension];
    if (factor === undefined || !(factor > 1) || amount <= 0) continue;
    needs ??= amounts.slice();
    needs[i] = Math.max(amount, Math.min(Math.ceil(amount * factor), spec.limit));
  }
  return needs ?? amounts;
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
 * Q9: the shortest time usage an upstream counted beyond what Fulcrum knew of is held, when
 * the setting (quota.reconcileHoldMs) does not say.
 */
export const DEFAULT_RECONCILE_HOLD_MS = 250;

/**
 * Q9: how long after a Select the upstream may count the call, when the setting
 * (quota.upstreamLagMs) does not say: the answer's way back, the gateway and the network.
 */
export const DEFAULT_UPSTREAM_LAG_MS = 50;

/**
 * The largest quota.upstreamLagMs: a reservation holds its units from the Select until lag +
 * window have passed, so a lag of the order of a window would halve a limit's throughput.
 */
export const MAX_UPSTREAM_LAG_MS = 1_000;

/**
 * Q9: what the upstream's `remaining`, an observation of its window when the call reached it,
 * shows beyond what Fulcrum knew of. The upstream then counted what Fulcrum held right after
 * the reservation (`usageAfter`), with this call's real `usage` in place of its estimate; only
 * what it counted beyond that is unknown to Fulcrum. Nothing Fulcrum holds is charged again:
 * comparing with the window at Report time instead would count again every unit that left it
 * while the call was in flight. Most of the excess is Fulcrum's own calls in flight (admitted
 * after this one but at the upstream first, or estimated low and not trued up yet), which true
 * themselves up when they report, and calls in flight alongside this one take about as long as
 * it did: so it is held that long (at least `minHoldMs`), not a window. Usage nobody reports
 * (other clients of the key) shows again in later Reports.
 */
export function unknownUsage(
  reservation: Reservation,
  report: {
    readonly usage: Readonly<Record<string, number>>;
    readonly remaining: Readonly<Record<string, number>>;
  },
  minHoldMs: number,
  upstreamLagMs: number,
  nowMs: number,
): HeldUsage {
  const unknown: Record<string, number> = Object.create(null); // dimension names are any string
  for (const { spec, amount, usageAfter } of reservation.dimensions) {
    const upstreamRemaining = units(report.remaining[spec.dimension]);
    if (upstreamRemaining === undefined) continue;
    const actual = units(report.usage[spec.dimension]) ?? amount;
    const beyond = spec.limit - upstreamRemaining - (usageAfter - amount + actual);
    if (beyond > 0) unknown[spec.dimension] = beyond;
  }
  // atMs is the Select's time plus the lag (it names the charged bucket): the call was in
  // flight since atMs - lag.
  const inFlightMs = nowMs - (reservation.atMs - upstreamLagMs);
  return { units: unknown, holdMs: Math.max(minHoldMs, Math.ceil(inFlightMs)) };
}

/** Units to hold per reserved dimension (aligned with `reservation.dimensions`) and for how long. */
export interface HoldAmounts {
  readonly amounts: readonly number[];
  readonly holdMs: number;
}

/** Nothing held. */
export const NO_HOLD: HoldAmounts = { amounts: [], holdMs: 0 };

/** `held` per reserved dimension: 0 where it says nothing. */
export function holdAmounts(reservation: Reservation, held: HeldUsage | undefined): HoldAmounts {
  if (!held) return NO_HOLD;
  const amounts = reservation.dimensions.map(({ spec }) => units(held.units[spec.dimension]) ?? 0);
  return { amounts, holdMs: held.holdMs };
}

/** True when settling `deltas` and `hold` would change nothing (no need to touch the store). */
export function settlesNothing(deltas: readonly number[], hold: HoldAmounts): boolean {
  return deltas.every((delta) => delta === 0) && hold.amounts.every((held) => held === 0);
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
