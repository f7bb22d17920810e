import type { StrategyDefinition } from "../strategy.js";
import { interleavedWeighted } from "./interleaved-weighted.js";
import { leastLoad } from "./least-load.js";
import { maglev } from "./maglev.js";
import { mostAvailable } from "./most-available.js";
import { powerOfTwo } from "./power-of-two.js";
import { random } from "./random.js";
import { rendezvous } from "./rendezvous.js";
import { ringHash } from "./ring-hash.js";
import { roundRobin } from "./round-robin.js";
import { smoothWeighted } from "./smooth-weighted.js";
import { weightedRandom } from "./weighted-random.js";

/**
 * Every strategy by its registered name, the lower-case proto enum name (STRATEGY_POWER_OF_TWO
 * is `power_of_two`). Adding a strategy is one file and one line here.
 */
const STRATEGIES: ReadonlyMap<string, StrategyDefinition> = new Map(
  [
    roundRobin,
    smoothWeighted,
    interleavedWeighted,
    random,
    weightedRandom,
    leastLoad,
    powerOfTwo,
    ringHash,
    maglev,
    rendezvous,
    mostAvailable,
  ].map((strategy) => [strategy.name, strategy]),
);

/** The strategy registered under `name`, if any. */
export function findStrategy(name: string): StrategyDefinition | undefined {
  return STRATEGIES.get(name);
}

/** Names of every registered strategy, in proto enum order. */
export function strategyNames(): string[] {
  return [...STRATEGIES.keys()];
}
