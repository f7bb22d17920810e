/**
 * Weighted random (behaviour.md S4): a draw with probability weight / total weight, O(1) per
 * pick with Vose's alias table built with the snapshot: one uniform column, then a biased coin
 * between the column and its alias.
 * Why: proportional shares with no shared state; the random counterpart of smooth_weighted.
 * Filters: up to WEIGHTED_RANDOM_ATTEMPTS draws; then one weighted draw among the accepted
 * backends only (two passes), so the shares among the accepted stay proportional.
 * Slow start applies (effective weights).
 * Sources: Vose, "A Linear Algorithm for Generating Random Numbers with a Given Distribution"
 * (IEEE TSE 1991); Walker's alias method (1974); Envoy RANDOM with weights.
 */
import { selectInt } from "../../shared/branchless.js";
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
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

/** Weighted random over one pool (alias method). */
export class WeightedRandomPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly weights: readonly number[];
  /**
   * Column i plus its probability of being kept rather than its alias: a draw scaled to the
   * pool keeps its column when below this, one comparison without taking the fraction apart.
   */
  private readonly keepBelow: Float64Array;
  private readonly alias: Int32Array;

  constructor(
    pool: PickerPool,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
    this.weights = pool.weights;
    const [keep, alias] = aliasTable(pool.weights);
    this.keepBelow = keep.map((p, column) => column + p);
    this.alias = Int32Array.from(alias);
  }

  pick(accept: Accept): BackendState | undefined {
    if (this.backends.length === 0) return undefined;
    if (accept === ACCEPT_ALL) return this.backends[this.draw()];
    for (let attempt = 0; attempt < WEIGHTED_RANDOM_ATTEMPTS; attempt++) {
      const backend = this.backends[this.draw()]!;
      if (accept(backend)) return backend;
    }
    return weightedRandomAccepted(this.backends, this.weights, accept, this.random);
  }

  /** One weighted index: a uniform column, then a biased coin between it and its alias. */
  private draw(): number {
    // One draw: its integer part picks the column, its fraction is the coin (>= 18 bits for n <= 10^4).
    const scaled = this.random.next() * this.backends.length;
    const column = Math.floor(scaled);
    return selectInt(scaled < this.keepBelow[column]!, column, this.alias[column]!);
  }

  score(backend: BackendState): number {
    return backend.spec.weight;
  }
}

/** Vose's alias table for `weights` (all > 0): [keep probability, alias] per column. */
export function aliasTable(weights: readonly number[]): [Float64Array, Uint32Array] {
  const n = weights.length;
  const keep = new Float64Array(n);
  const alias = new Uint32Array(n);
  const total = weights.reduce((sum, w) => sum + w, 0);
  const scaled = weights.map((w) => (w * n) / total);
  const small: number[] = [];
  const large: number[] = [];
  scaled.forEach((p, i) => {
    (p < 1 ? small : large).push(i);
  });
  while (small.length > 0 && large.length > 0) {
    const less = small.pop()!;
    const more = large.pop()!;
    keep[less] = scaled[less]!;
    alias[less] = more;
    scaled[more] = scaled[more]! + scaled[less]! - 1;
    (scaled[more]! < 1 ? small : large).push(more);
  }
  for (const i of [...small, ...large]) {
    keep[i] = 1;
    alias[i] = i;
  }
  return [keep, alias];
}
