import type { ServiceConfigInput } from "./input.js";
import type { StrategySpec } from "./specs.js";
import type { Violations } from "./violations.js";

/**
 * Parses a requested strategy chain (S9, S17) into a StrategySpec with its defaults,
 * recording every bad name or setting under `path` in `v`. The balancer owns the strategy
 * catalog and implements this; the registry calls it when it resolves a service config.
 */
export type StrategyParser = (
  input: ServiceConfigInput["strategy"],
  path: string,
  v: Violations,
) => StrategySpec;
