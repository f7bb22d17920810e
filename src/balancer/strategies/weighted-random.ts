/**
 * Weighted random (behaviour.md S4): a draw with probability weight / total weight, by binary
 * search over cumulative weights built with the snapshot (O(log n) per pick).
 * Why: proportional shares with no shared state; the random counterpart of smooth_weighted.
 * Filters: up to WEIGHTED_RANDOM_ATTEMPTS draws; then one weighted draw among the accepted
 * backends only (two passes), so the shares among the accepted stay proportional.
 * Slow start applies (effective weights).
 * Source: Envoy RANDOM with weights; Walker/Vose alias method is the O(1) alternative, not
 * needed at this size.
 */
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import type { Accept, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { unknownKeys } from "./settings.js";
import { weightedRandomAccepted } from "./weighted-fallback.js";

/** Draws before a filtered weighted pick falls back to a draw among the accepted only. */
export const WEIGHTED_RANDOM_ATTEMPTS = 4;

/** The `weighted_random` strategy; it takes no settings. */
export const weightedRandom: StrategyDefinition = {
  name: "weighted_random",
  usesHashKey: false,
  usesEffectiveWeights: true,
  validate: (settings) => unknownKeys("weighted_random", settings, []),
  create: (pool, _settings, deps) => new WeightedRandomPicker(pool, deps.random),
};

/** Weighted random over one pool. */
export class WeightedRandomPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly weights: readonly number[];
  /** cumulative[i] = sum of weights[0..i]. */
  private readonly cumulative: Float64Array;

  constructor(
    pool: PickerPool,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
    this.weights = pool.weights;
    this.cumulative = new Float64Array(pool.weights.length);
    let sum = 0;
    pool.weights.forEach((weight, i) => {
      sum += weight;
      this.cumulative[i] = sum;
    });
  }

  pick(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    const total = this.cumulative[n - 1]!;
    for (let attempt = 0; attempt < WEIGHTED_RANDOM_ATTEMPTS; attempt++) {
      const backend = this.backends[this.search(this.random.next() * total)]!;
      if (accept(backend)) return backend;
    }
    return weightedRandomAccepted(this.backends, this.weights, accept, this.random);
  }

  score(backend: BackendState): number {
    return backend.spec.weight;
  }

  /** The first index whose cumulative weight exceeds `target`. */
  private search(target: number): number {
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.cumulative[mid]! > target) high = mid;
      else low = mid + 1;
    }
    return low;
  }
}
