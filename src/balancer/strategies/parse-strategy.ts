import type { ServiceConfigInput } from "../../model/input.js";
import type { StrategyParser } from "../../model/policy-parser.js";
import type { StrategySpec } from "../../model/specs.js";
import type { Violations } from "../../model/violations.js";
import { findStrategy } from "./catalog.js";

/** The strategy of a service that names none. */
export const DEFAULT_STRATEGY = "round_robin";
/** How many fallbacks a chain may nest (S9). */
export const MAX_FALLBACK_DEPTH = 4;

/** Resolves a strategy by its registered name and lets the strategy validate its own settings (S17). */
export const parseStrategy: StrategyParser = (input, path, v) => parseLink(input, path, v, 0);

function parseLink(
  input: ServiceConfigInput["strategy"],
  path: string,
  v: Violations,
  depth: number,
): StrategySpec {
  const name = input?.name || DEFAULT_STRATEGY;
  const settings = (input?.settings ?? {}) as Record<string, number | string | boolean>;
  const strategy = findStrategy(name);
  if (!strategy) {
    v.add(`${path}.strategy`, `unknown strategy ${name}`);
  } else {
    // Settings live in the proto oneof named after the strategy: config.strategy.maglev.table_size.
    for (const problem of strategy.validate(settings))
      v.add(`${path}.${name}.${problem.field}`, `${name}: ${problem.description}`);
  }
  let fallback: StrategySpec | undefined;
  if (input?.fallback) {
    if (depth >= MAX_FALLBACK_DEPTH)
      v.add(`${path}.fallback`, `fallback chains are at most ${MAX_FALLBACK_DEPTH} deep`);
    else fallback = parseLink(input.fallback, `${path}.fallback`, v, depth + 1);
  }
  return { name, settings, fallback };
}
