import type { BackendState } from "./backend-state.js";

/**
 * The quota headroom the balancer reads (behaviour.md S8, Q5): a port the quota layer
 * implements. The balancer never changes quota state through it.
 */
export interface QuotaView {
  /**
   * Remaining share of the backend's quota, min over its dimensions: 1 is untouched, 0 is
   * exhausted. Must be cheap and must not throw; NaN is treated as "unknown" and never wins.
   */
  remainingRatio(backend: BackendState): number;
  /**
   * True when `remainingRatio(backend)` is 1 now and stays 1 whatever happens while the
   * backend's spec stays (e.g. it has no limits): lets most_available skip reading ratios.
   */
  alwaysFull?(backend: BackendState): boolean;
}

/** The view used until a quota layer is plugged in: every backend has all of its quota left. */
export const FULL_QUOTA: QuotaView = { remainingRatio: () => 1, alwaysFull: () => true };
