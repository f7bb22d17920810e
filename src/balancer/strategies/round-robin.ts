/**
 * Round robin (behaviour.md S1): registration order, skipping backends the request does not
 * accept. The cursor advances past the pick so that skips do not bias the next request.
 * Unweighted: use smooth_weighted for weights. Slow start does not apply (no weights).
 * Reference: grpc-js load-balancer-round-robin.ts.
 */
import type { BackendState } from "../backend-state.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { unknownKeys } from "./settings.js";

/** The `round_robin` strategy; it takes no settings. */
export const roundRobin: StrategyDefinition = {
  name: "round_robin",
  usesHashKey: false,
  usesEffectiveWeights: false,
  inlinedPick: true,
  validate: (settings) => unknownKeys("round_robin", settings, []),
  create(pool: PickerPool): Picker {
    return new RoundRobinPicker(pool.backends);
  },
};

/** Round robin over `backends`. */
class RoundRobinPicker implements Picker {
  private cursor = 0;

  constructor(private readonly backends: readonly BackendState[]) {}

  pick(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (accept === ACCEPT_ALL && n > 0) {
      const backend = this.backends[this.cursor]!;
      this.cursor = this.cursor + 1 === n ? 0 : this.cursor + 1;
      return backend;
    }
    for (let step = 0; step < n; step++) {
      const index = (this.cursor + step) % n;
      const backend = this.backends[index]!;
      if (accept(backend)) {
        this.cursor = index + 1 === n ? 0 : index + 1;
        return backend;
      }
    }
    return undefined;
  }
}
