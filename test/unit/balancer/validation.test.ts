import { describe, expect, it } from "vitest";
import { parseServiceConfig } from "../../../src/app/parse-service-config.js";
import { findStrategy, strategyNames } from "../../../src/balancer/strategies/catalog.js";
import { MAX_INLINED_PICKS } from "../../../src/balancer/strategy.js";
import type { ServiceConfigInput } from "../../../src/model/input.js";
import { Violations } from "../../../src/model/violations.js";
import type { FulcrumError } from "../../../src/shared/errors.js";

/** The violations Register would report for a strategy config (field and description). */
function violations(strategy: ServiceConfigInput["strategy"]): { field: string; description: string }[] {
  const v = new Violations();
  parseServiceConfig({ strategy }, v);
  try {
    v.throwIfAny();
    return [];
  } catch (error) {
    return [...((error as FulcrumError).detail.violations ?? [])];
  }
}

const PROTO_ENUM_NAMES = [
  "round_robin",
  "smooth_weighted",
  "interleaved_weighted",
  "random",
  "weighted_random",
  "least_load",
  "power_of_two",
  "ring_hash",
  "maglev",
  "rendezvous",
  "most_available",
];

describe("strategy registration and validation", () => {
  it("S17 every proto Strategy enum value is registered under its lower-case name", () => {
    expect(strategyNames()).toEqual(PROTO_ENUM_NAMES);
  });

  it("S17 proto zero values (0, false, unspecified metric) mean the defaults and are accepted", () => {
    const zeros: Record<string, Record<string, number | string | boolean>> = {
      least_load: { metric: "in_flight", random_tie_break: false },
      power_of_two: { metric: "in_flight", decay_ms: 0 },
      ring_hash: { virtual_nodes: 0, balance_factor_percent: 0 },
      maglev: { table_size: 0 },
      most_available: { epsilon: 0 },
    };
    for (const name of PROTO_ENUM_NAMES)
      expect(violations({ name, settings: zeros[name] ?? {} }), name).toEqual([]);
  });

  it.each([
    ["maglev", { table_size: 4 }, "config.strategy.maglev.table_size", "prime"],
    ["maglev", { table_size: 5_000_021 }, "config.strategy.maglev.table_size", "prime"],
    ["ring_hash", { virtual_nodes: 0.5 }, "config.strategy.ring_hash.virtual_nodes", "integer"],
    ["ring_hash", { virtual_nodes: 20_000 }, "config.strategy.ring_hash.virtual_nodes", "10000"],
    ["ring_hash", { balance_factor_percent: 99 }, "config.strategy.ring_hash.balance_factor_percent", "100"],
    ["power_of_two", { metric: "cpu" }, "config.strategy.power_of_two.metric", "peak_ewma"],
    ["power_of_two", { decay_ms: -5 }, "config.strategy.power_of_two.decay", "ms"],
    ["least_load", { random_tie_break: 3 }, "config.strategy.least_load.random_tie_break", "true or false"],
    ["most_available", { epsilon: 1.5 }, "config.strategy.most_available.epsilon", "from 0 to 1"],
    ["most_available", { epsilon: Number.NaN }, "config.strategy.most_available.epsilon", "from 0 to 1"],
    ["round_robin", { virtual_nodes: 3 }, "config.strategy.round_robin.virtual_nodes", "takes no settings"],
    ["rendezvous", { table_size: 7 }, "config.strategy.rendezvous.table_size", "takes no settings"],
    ["maglev", { virtual_nodes: 3 }, "config.strategy.maglev.virtual_nodes", "known: table_size"],
  ])("S17 %s rejects %o at Register naming %s", (name, settings, field, words) => {
    const found = violations({ name, settings });
    expect(found).toHaveLength(1);
    expect(found[0]!.field).toBe(field);
    expect(found[0]!.description).toContain(name);
    expect(found[0]!.description).toContain(words);
  });

  it("S17 a fallback's settings are validated with its own path", () => {
    const found = violations({
      name: "ring_hash",
      settings: {},
      fallback: { name: "maglev", settings: { table_size: 10 } },
    });
    expect(found.map((f) => f.field)).toEqual(["config.strategy.fallback.maglev.table_size"]);
  });

  it("S17 validation runs at Register only: create trusts validated settings and never throws", () => {
    for (const name of PROTO_ENUM_NAMES) {
      const strategy = findStrategy(name)!;
      const picker = strategy.create(
        { backends: [], weights: [], capacities: [] },
        {},
        {
          clock: { now: () => 0, setTimeout: () => ({}), clearTimeout: () => {} },
          random: { next: () => 0.5 },
        },
      );
      const context = { hashKey: "k", quota: { remainingRatio: () => 1 }, serviceInFlight: 0 };
      expect(
        picker.pick(() => true, context),
        name,
      ).toBeUndefined();
    }
  });

  it("S17 at most four strategies have their picks inlined", () => {
    const inlined = strategyNames().filter((name) => findStrategy(name)!.inlinedPick);
    expect(inlined.length).toBeLessThanOrEqual(MAX_INLINED_PICKS);
  });
});
