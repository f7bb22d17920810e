import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LoadMetric, StrategyConfigSchema } from "../../../gen/fulcrum/v1/types_pb.js";
import { strategyNames } from "../../../src/balancer/strategies/catalog.js";
import { decodeStrategySettings, encodeStrategySettings } from "../../../src/rpc/codec/strategy-settings.js";
import type { FieldViolation } from "../../../src/shared/errors.js";

/** One settings record per strategy that takes settings, every field away from its zero value. */
const FULL: Record<string, Record<string, number | string | boolean>> = {
  least_load: { metric: "ewma_latency", random_tie_break: true },
  power_of_two: { metric: "peak_ewma", decay_ms: 2_500 },
  ring_hash: { virtual_nodes: 64, balance_factor_percent: 125 },
  maglev: { table_size: 65_537 },
  most_available: { epsilon: 0.25 },
};

function roundTrip(name: string, settings: Record<string, number | string | boolean>) {
  const config = create(StrategyConfigSchema, { settings: encodeStrategySettings(name, settings) });
  const bad: FieldViolation[] = [];
  const decoded = decodeStrategySettings(config.settings, `config.strategy.${name}`, bad);
  return { decoded, bad, settingsCase: config.settings.case };
}

describe("strategy settings mapper", () => {
  it.each(Object.entries(FULL))("S17 %s settings survive encode then decode unchanged", (name, settings) => {
    const { decoded, bad } = roundTrip(name, settings);
    expect(bad).toEqual([]);
    expect(decoded).toEqual(settings);
  });

  it("S17 strategies without a settings message encode no settings", () => {
    const bare = strategyNames().filter((name) => !(name in FULL));
    expect(bare.length).toBeGreaterThan(0);
    for (const name of bare) expect(encodeStrategySettings(name, {}), name).toBeUndefined();
  });

  it("S17 an unspecified metric stays unset so the strategy applies its own default", () => {
    const config = create(StrategyConfigSchema, {
      settings: { case: "leastLoad", value: { metric: LoadMetric.UNSPECIFIED } },
    });
    const bad: FieldViolation[] = [];
    expect(decodeStrategySettings(config.settings, "config.strategy.least_load", bad)).toEqual({
      random_tie_break: false,
    });
    expect(bad).toEqual([]);
  });

  it("S17 O5 an unknown metric number is named by its field path", () => {
    const config = create(StrategyConfigSchema, {
      settings: { case: "powerOfTwo", value: { metric: 42 as LoadMetric } },
    });
    const bad: FieldViolation[] = [];
    decodeStrategySettings(config.settings, "config.strategy.power_of_two", bad);
    expect(bad).toEqual([
      {
        field: "config.strategy.power_of_two.metric",
        description:
          "unknown value 42; expected LOAD_METRIC_UNSPECIFIED, LOAD_METRIC_IN_FLIGHT, LOAD_METRIC_EWMA_LATENCY, LOAD_METRIC_PEAK_EWMA",
      },
    ]);
  });
});
