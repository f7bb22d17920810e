/**
 * Random (behaviour.md S4): a uniform draw over the pool, from the injected Random.
 * Why: no shared state between replicas or requests, and no synchronized herding when many
 * callers start at once; the right default for many equal backends and many callers.
 * Filters: up to RANDOM_ATTEMPTS draws; then a scan from a random start returns the first
 * accepted backend (still unbiased when few are rejected, never loops forever).
 * Unweighted: use weighted_random for weights. Slow start does not apply.
 * Source: Envoy RANDOM load balancer (source/common/upstream/load_balancer_impl.cc).
 */
import { type Random, randomInt } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { unknownKeys } from "./settings.js";

/** Draws before a filtered random pick falls back to a scan. */
export const RANDOM_ATTEMPTS = 4;

/** The `random` strategy; it takes no settings. */
export const random: StrategyDefinition = {
  name: "random",
  usesHashKey: false,
  usesEffectiveWeights: false,
  inlinedPick: true,
  validate: (settings) => unknownKeys("random", settings, []),
  create: (pool, _settings, deps) => new RandomPicker(pool, deps.random),
};

/** Uniform random over one pool. */
export class RandomPicker implements Picker {
  private readonly backends: readonly BackendState[];

  constructor(
    pool: PickerPool,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
  }

  pick(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    for (let attempt = 0; attempt < RANDOM_ATTEMPTS; attempt++) {
      const backend = this.backends[Math.floor(this.random.next() * n)]!;
      if (accept === ACCEPT_ALL || accept(backend)) return backend;
    }
    const start = randomInt(this.random, n);
    for (let step = 0; step < n; step++) {
      const backend = this.backends[(start + step) % n]!;
      if (accept(backend)) return backend;
    }
    return undefined;
  }
}
