/**
 * The scan least_load used before its load index (O(n) per pick), kept here as the oracle the
 * index is checked against: the accepted backend with the lowest load / capacity, the first on
 * a tie, NaN never.
 */
import type { BackendState } from "../../../src/balancer/backend-state.js";
import type { LoadFunction } from "../../../src/balancer/load/load-metric.js";
import type { Accept } from "../../../src/balancer/strategy.js";

/** The scan's choice (index) and every accepted index tied with it, for random tie-breaks. */
export function scanLeastLoad(
  backends: readonly BackendState[],
  capacities: readonly number[],
  load: LoadFunction,
  now: number,
  accept: Accept,
): { best: number; cost: number; tied: number[] } {
  let best = -1;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let i = 0; i < backends.length; i++) {
    if (!accept(backends[i]!)) continue;
    const cost = load(backends[i]!, now) / capacities[i]!;
    if (Number.isNaN(cost)) continue;
    if (best < 0 || cost < bestCost) {
      best = i;
      bestCost = cost;
    }
  }
  const tied: number[] = [];
  for (let i = 0; i < backends.length; i++) {
    if (best >= 0 && accept(backends[i]!) && load(backends[i]!, now) / capacities[i]! === bestCost)
      tied.push(i);
  }
  return { best, cost: bestCost, tied };
}
