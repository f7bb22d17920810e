/**
 * Rendezvous (highest random weight) hashing (behaviour.md S7): every backend scores the key
 * with a hash of (backend id, key) and the highest score wins. With weights, the score is
 * weight / -ln(u) for the hash as u in (0, 1] (weighted rendezvous: shares proportional to
 * weight); with equal weights the raw hash is compared. Removing one of N backends moves
 * exactly the keys it won (1/N); nothing else moves.
 * Why: the simplest consistent hash, no table, perfect minimal disruption and an exact order
 * of runners-up for free. Cost O(n) per pick: fine for tens to a few thousand backends; for
 * larger pools prefer maglev or ring_hash.
 * Filters: the highest-scoring accepted backend wins (the natural runner-up order).
 * Missing key: yields nothing, so the fallback strategy picks, or round robin (snapshot.ts).
 * Uses registered weights (slow start does not apply: it would move keys).
 * Sources: Thaler and Ravishankar, "Using Name-Based Mappings to Increase Hit Rates"
 * (IEEE/ACM ToN 1998); weighted form: Resch, "New Hashing Algorithms for Data Storage"
 * (logarithmic method).
 */
import type { BackendState } from "../backend-state.js";
import { fmix32, hashString, unitInterval } from "../hashing.js";
import type { Accept, PickContext, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { unknownKeys } from "./settings.js";

/** The `rendezvous` strategy; it takes no settings. */
export const rendezvous: StrategyDefinition = {
  name: "rendezvous",
  usesHashKey: true,
  usesEffectiveWeights: false,
  validate: (settings) => unknownKeys("rendezvous", settings, []),
  create: (pool) => new RendezvousPicker(pool),
};

/** Weighted rendezvous hashing over one pool. */
export class RendezvousPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly seeds: Uint32Array;
  private readonly weights: Float64Array;
  private readonly equalWeights: boolean;

  constructor(pool: PickerPool) {
    this.backends = pool.backends;
    this.seeds = Uint32Array.from(pool.backends, (b) => hashString(b.spec.id));
    this.weights = Float64Array.from(pool.backends, (b) => b.spec.weight);
    this.equalWeights = this.weights.every((w) => w === this.weights[0]);
  }

  pick(accept: Accept, context: PickContext): BackendState | undefined {
    if (context.hashKey === "") return undefined;
    const key = hashString(context.hashKey);
    return this.equalWeights ? this.pickEqual(key, accept) : this.pickWeighted(key, accept);
  }

  /** Equal weights: the highest raw hash wins (first index on ties). */
  private pickEqual(key: number, accept: Accept): BackendState | undefined {
    let best: BackendState | undefined;
    let bestHash = -1;
    for (let i = 0; i < this.backends.length; i++) {
      const hash = pairHash(this.seeds[i]!, key);
      if (hash > bestHash && accept(this.backends[i]!)) {
        best = this.backends[i];
        bestHash = hash;
      }
    }
    return best;
  }

  /**
   * Weighted: the highest weight / -ln(u). Since -ln(u) >= 1 - u, weight / (1 - u) bounds the
   * score from above, and the logarithm is skipped for backends that cannot win.
   */
  private pickWeighted(key: number, accept: Accept): BackendState | undefined {
    let best: BackendState | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.backends.length; i++) {
      const u = unitInterval(pairHash(this.seeds[i]!, key));
      const weight = this.weights[i]!;
      if (weight / (1 - u) <= bestScore) continue;
      const score = weight / Math.max(Number.MIN_VALUE, -Math.log(u));
      if (score > bestScore && accept(this.backends[i]!)) {
        best = this.backends[i];
        bestScore = score;
      }
    }
    return best;
  }

  /** The backend's score for this key (weighted form). Called only for explain. */
  score(backend: BackendState, context: PickContext): number {
    if (context.hashKey === "") return 0;
    const u = unitInterval(pairHash(hashString(backend.spec.id), hashString(context.hashKey)));
    return backend.spec.weight / Math.max(Number.MIN_VALUE, -Math.log(u));
  }
}

/** The (backend, key) hash: one avalanche round over two already-mixed 32-bit hashes. */
function pairHash(seed: number, key: number): number {
  return fmix32(seed ^ key);
}
