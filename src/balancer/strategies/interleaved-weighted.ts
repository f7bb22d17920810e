/**
 * Interleaved weighted round robin by capacity (behaviour.md S3), the classic slot scheduler:
 * round r visits, in registration order, every backend whose weight is at least r, for
 * r = 1..max weight; then the cycle restarts. The weight is the backend's capacity:
 * max_connections, or its registered weight when max_connections is 0 (unlimited).
 * Capacities 5, 1, 1 give a b c a a a a. Weights are divided by their gcd first (100, 200
 * behave as 1, 2).
 * Why: deterministic, proportional to capacity, and O(1) amortized per pick; it spreads a
 * round over every backend before repeating the big ones (smooth_weighted interleaves finer).
 * How: rounds between two consecutive distinct weights visit the same backends, so one slot
 * list per distinct weight is built with the snapshot (when their total stays under
 * MAX_SLOT_LISTS_SIZE; otherwise one list is scanned with a weight check).
 * Filters: rejected slots are consumed; after one pool's length of rejected slots the cycle
 * restarts at round 1, where every backend has a slot, and is walked once more.
 * Slow start applies to the capacity (fractional values are scaled, integer-weights.ts).
 * Source: "Interleaved WRR" in Wikipedia's "Weighted round robin"; Katevenis et al., "Weighted
 * round-robin cell multiplexing in a general-purpose ATM switch chip", IEEE JSAC 1991. (LVS
 * `ip_vs_wrr.c` runs the same rounds from the largest weight down.)
 */
import type { BackendState } from "../backend-state.js";
import { registeredCapacity } from "../capacity.js";
import { integerWeights } from "../integer-weights.js";
import type { Accept, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { unknownKeys } from "./settings.js";

/** Largest total size of the per-weight slot lists before falling back to a checked scan. */
export const MAX_SLOT_LISTS_SIZE = 1 << 20;

/** The `interleaved_weighted` strategy; it takes no settings. */
export const interleavedWeighted: StrategyDefinition = {
  name: "interleaved_weighted",
  usesHashKey: false,
  usesEffectiveWeights: true,
  inlinedPick: true,
  validate: (settings) => unknownKeys("interleaved_weighted", settings, []),
  create: (pool) => new InterleavedWeightedPicker(pool),
};

/** Interleaved WRR over one pool. */
export class InterleavedWeightedPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly weights: number[];
  /** The last round of each slot list, ascending. */
  private readonly levels: number[];
  private readonly lists: number[][];
  /** True when one list serves every round and slots are checked against the round. */
  private readonly checked: boolean;
  private level = 0;
  private round = 1;
  private position = 0;

  constructor(pool: PickerPool) {
    this.backends = pool.backends;
    this.weights = integerWeights(pool.capacities);
    const distinct = [...new Set(this.weights)].sort((a, b) => a - b);
    const all = this.weights.map((_, index) => index);
    this.checked = distinct.length * all.length > MAX_SLOT_LISTS_SIZE;
    if (this.checked) {
      this.levels = [distinct[distinct.length - 1] ?? 0];
      this.lists = [all];
    } else {
      this.levels = distinct;
      this.lists = distinct.map((level) => all.filter((index) => this.weights[index]! >= level));
    }
  }

  pick(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    for (let i = 0; i < n; i++) {
      const backend = this.backends[this.advance()]!;
      if (accept(backend)) return backend;
    }
    this.restartCycle();
    for (let i = 0; i < n; i++) {
      const backend = this.backends[this.advance()]!;
      if (accept(backend)) return backend;
    }
    return undefined;
  }

  score(backend: BackendState): number {
    return registeredCapacity(backend);
  }

  /** The index of the next slot's backend; moves the schedule one slot on. */
  private advance(): number {
    for (;;) {
      let list = this.lists[this.level]!;
      if (this.position === list.length) {
        this.position = 0;
        this.round++;
        if (this.round > this.levels[this.level]!) {
          this.level++;
          if (this.level === this.levels.length) this.restartCycle();
          list = this.lists[this.level]!;
        }
      }
      const index = list[this.position++]!;
      if (!this.checked || this.weights[index]! >= this.round) return index;
    }
  }

  private restartCycle(): void {
    this.level = 0;
    this.round = 1;
    this.position = 0;
  }
}
