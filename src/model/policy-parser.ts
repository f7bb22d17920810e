/**
 * How a service config is parsed: each subsystem owns the parser of its own section, with its
 * own named defaults and range checks (the strategy catalog parses `strategy`, health parses
 * `health` and `outlier`, and so on), and the registry calls the parsers through this table.
 */
import type { ServiceConfigInput } from "./input.js";
import type { ServiceConfig } from "./specs.js";
import type { Violations } from "./violations.js";

/**
 * Parses one section of a requested config into its resolved policy, recording every bad
 * field under `path` (the proto path, e.g. `config.health`) in `v`. Never throws.
 */
export type PolicyParser<K extends keyof ServiceConfig> = (
  input: ServiceConfigInput[K],
  path: string,
  v: Violations,
) => ServiceConfig[K];

/** The strategy section's parser (S9, S17): the balancer's strategy catalog implements it. */
export type StrategyParser = PolicyParser<"strategy">;

/** One parser per section of ServiceConfig. */
export type PolicyParsers = { readonly [K in keyof ServiceConfig]: PolicyParser<K> };

/** Parses a whole requested config (undefined: every default). */
export type ServiceConfigParser = (input: ServiceConfigInput | undefined, v: Violations) => ServiceConfig;

/** The config parser made of one parser per section; each section's proto path is `config.<section>`. */
export function serviceConfigParser(parsers: PolicyParsers): ServiceConfigParser {
  return (input, v) => ({
    strategy: parsers.strategy(input?.strategy, "config.strategy", v),
    health: parsers.health(input?.health, "config.health", v),
    outlier: parsers.outlier(input?.outlier, "config.outlier", v),
    quota: parsers.quota(input?.quota, "config.quota", v),
    session: parsers.session(input?.session, "config.session", v),
    load: parsers.load(input?.load, "config.load", v),
  });
}
