/**
 * Round robin (behaviour.md S1): registration order, skipping backends the request does not
 * accept. The cursor advances past the pick so that skips do not bias the next request.
 * Reference: grpc-js load-balancer-round-robin.ts.
 */
import type { BackendState } from "../backend-state.js";
import type { Picker, StrategyDefinition } from "../strategy.js";

export const roundRobin: StrategyDefinition = {
  name: "round_robin",
  validate: (settings) =>
    Object.keys(settings).map((field) => ({ field, description: "round_robin takes no settings" })),
  create(backends) {
    return new RoundRobinPicker(backends);
  },
};

class RoundRobinPicker implements Picker {
  private cursor = 0;

  constructor(private readonly backends: readonly BackendState[]) {}

  pick(accept: (backend: BackendState) => boolean): BackendState | undefined {
    const n = this.backends.length;
    for (let step = 0; step < n; step++) {
      const index = (this.cursor + step) % n;
      const backend = this.backends[index]!;
      if (accept(backend)) {
        this.cursor = (index + 1) % n;
        return backend;
      }
    }
    return undefined;
  }
}
