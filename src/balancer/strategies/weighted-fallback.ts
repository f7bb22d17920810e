/**
 * The last resort of the schedule-based strategies (smooth and interleaved WRR) when the
 * request filter rejects every backend their next few turns offer: one weighted random pick
 * among the accepted backends, two passes, no allocation. Stateless, so it cannot skew the
 * schedule; fair in expectation.
 */
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import type { Accept } from "../strategy.js";

/** A backend drawn with probability weight / (total weight of the accepted), or undefined when none is accepted. */
export function weightedRandomAccepted(
  backends: readonly BackendState[],
  weights: ArrayLike<number>,
  accept: Accept,
  random: Random,
): BackendState | undefined {
  let total = 0;
  for (let i = 0; i < backends.length; i++) if (accept(backends[i]!)) total += weights[i]!;
  if (total <= 0) return undefined;
  let target = random.next() * total;
  let last: BackendState | undefined;
  for (let i = 0; i < backends.length; i++) {
    const backend = backends[i]!;
    if (!accept(backend)) continue;
    last = backend;
    target -= weights[i]!;
    if (target < 0) return backend;
  }
  return last;
}
