/**
 * Most available (behaviour.md S8): the accepted backend with the highest remaining quota
 * ratio (min over its dimensions, as the QuotaView reports it), chosen uniformly at random
 * among every backend within `epsilon` (default 0.05) of the best, so that equal headroom does
 * not herd every caller onto the first one. Two passes, no allocation; a NaN ratio is never
 * chosen.
 * Why: spread quota-limited work (API keys, token budgets) so no backend runs dry while others
 * idle. Until a quota layer is plugged in, every backend reports 1 and this is uniform random.
 * Settings: `epsilon` in [0, 1] (0, the proto zero value, means the default).
 * Source: behaviour.md S8 (the quota-aware strategy engine Fulcrum replaces); the uniform choice
 * among the near-best is reservoir sampling (Vitter, "Random Sampling with a Reservoir", 1985).
 */
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import type { Accept, PickContext, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { checkNumber, numberSetting, unknownKeys } from "./settings.js";

/** Headroom slack within which backends count as equally good, when `epsilon` is unset. */
export const DEFAULT_EPSILON = 0.05;

/** The `most_available` strategy. */
export const mostAvailable: StrategyDefinition = {
  name: "most_available",
  usesHashKey: false,
  usesEffectiveWeights: false,
  validate(settings) {
    const problems = unknownKeys("most_available", settings, ["epsilon"]);
    checkNumber(settings, "epsilon", { min: 0, max: 1, integer: false }, problems);
    return problems;
  },
  create: (pool, settings, deps) =>
    new MostAvailablePicker(pool, numberSetting(settings, "epsilon", DEFAULT_EPSILON), deps.random),
};

/** Most available over one pool. */
export class MostAvailablePicker implements Picker {
  private readonly backends: readonly BackendState[];

  constructor(
    pool: PickerPool,
    private readonly epsilon: number,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
  }

  pick(accept: Accept, context: PickContext): BackendState | undefined {
    const quota = context.quota;
    let best = Number.NEGATIVE_INFINITY;
    for (const backend of this.backends) {
      if (!accept(backend)) continue;
      const ratio = quota.remainingRatio(backend);
      if (ratio > best) best = ratio;
    }
    if (best === Number.NEGATIVE_INFINITY) return undefined;
    const floor = best - this.epsilon;
    let chosen: BackendState | undefined;
    let seen = 0;
    for (const backend of this.backends) {
      if (!accept(backend) || !(quota.remainingRatio(backend) >= floor)) continue;
      if (this.random.next() * ++seen < 1) chosen = backend;
    }
    return chosen;
  }

  score(backend: BackendState, context: PickContext): number {
    return context.quota.remainingRatio(backend);
  }
}
