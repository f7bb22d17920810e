/**
 * Slow start (behaviour.md S14): a new or recovered backend's weight ramps up over a window
 * instead of taking its full share at once, so a cold cache or JIT is not flooded.
 * Formula (Envoy `slow_start_config`): effective = weight * max(min_weight_percent / 100,
 * time_factor ^ (1 / aggression)), time_factor = max(elapsed, 1 ms) / window, from the moment
 * the backend became active (`BackendState.activeSince`). Aggression 1 is linear; above 1
 * ramps faster early, below 1 slower.
 * Source: Envoy docs, "Slow start mode" (arch_overview/upstream/load_balancing/slow_start).
 */
import type { SlowStartPolicy } from "../model/specs.js";

/** Steps a slow-start window is divided into: effective weights are recomputed this often. */
export const SLOW_START_REFRESH_STEPS = 20;
/** Shortest time between two recomputations of effective weights, in ms. */
export const MIN_SLOW_START_REFRESH_MS = 50;

/** The factor (min_weight..1] applied to a backend's weight at `now`; 1 once the window has passed. */
export function slowStartFactor(
  activeSince: number,
  now: number,
  policy: SlowStartPolicy | undefined,
): number {
  if (!policy || policy.windowMs <= 0) return 1;
  const elapsed = now - activeSince;
  if (elapsed >= policy.windowMs) return 1;
  const timeFactor = Math.max(elapsed, 1) / policy.windowMs;
  return Math.max(policy.minWeightPercent / 100, timeFactor ** (1 / policy.aggression));
}

/** How long effective weights computed now stay good enough, in ms. */
export function slowStartRefreshMs(policy: SlowStartPolicy): number {
  return Math.max(MIN_SLOW_START_REFRESH_MS, policy.windowMs / SLOW_START_REFRESH_STEPS);
}
