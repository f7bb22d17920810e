import type { StrategyDefinition } from "../strategy.js";
import { roundRobin } from "./round-robin.js";

/** Every strategy by its registered name. Adding a strategy is one file and one line here. */
const STRATEGIES: ReadonlyMap<string, StrategyDefinition> = new Map(
  [roundRobin].map((strategy) => [strategy.name, strategy]),
);

/** The strategy registered under `name`, if any. */
export function findStrategy(name: string): StrategyDefinition | undefined {
  return STRATEGIES.get(name);
}

/** Names of every registered strategy. */
export function strategyNames(): string[] {
  return [...STRATEGIES.keys()];
}
