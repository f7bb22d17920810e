/**
 * Strategy settings, one typed mapper per settings message: the proto oneof
 * `StrategyConfig.settings` <-> the core's flat settings record (keys named like the proto
 * fields, durations as `<field>_ms`, see balancer/strategy.ts). Unset values stay unset: the
 * strategy applies its own defaults (a proto zero value means "the default").
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { StrategySettings } from "../../balancer/strategy.js";
import type { FieldViolation } from "../../shared/errors.js";
import { enumName, enumValue, fromMs, toMs } from "./primitives.js";

type SettingsOneof = T.StrategyConfig["settings"];
type SettingsInit = MessageInitShape<typeof T.StrategyConfigSchema>["settings"];
type Settings = Record<string, number | string | boolean>;

/** The strategy each settings message belongs to, by oneof case. */
const STRATEGY_OF_CASE: Readonly<Record<NonNullable<SettingsOneof["case"]>, string>> = {
  leastLoad: "least_load",
  powerOfTwo: "power_of_two",
  ringHash: "ring_hash",
  maglev: "maglev",
  mostAvailable: "most_available",
};

/** The strategy whose settings message `oneof` holds; undefined when no settings were given. */
export function strategyOfSettings(oneof: SettingsOneof): string | undefined {
  return oneof.case ? STRATEGY_OF_CASE[oneof.case] : undefined;
}

/** `metric` when the enum names one; absent when UNSPECIFIED. */
function decodeMetric(value: T.LoadMetric, field: string, bad: FieldViolation[]): Settings {
  const metric = enumName(T.LoadMetricSchema, value, field, bad);
  return metric === undefined ? {} : { metric };
}

/** The settings message in `oneof` as the core's record; `path` names the oneof field. */
export function decodeStrategySettings(oneof: SettingsOneof, path: string, bad: FieldViolation[]): Settings {
  switch (oneof.case) {
    case "leastLoad":
      return {
        ...decodeMetric(oneof.value.metric, `${path}.metric`, bad),
        random_tie_break: oneof.value.randomTieBreak,
      };
    case "powerOfTwo": {
      const decayMs = toMs(oneof.value.decay, `${path}.decay`, bad);
      return {
        ...decodeMetric(oneof.value.metric, `${path}.metric`, bad),
        ...(decayMs !== undefined && { decay_ms: decayMs }),
      };
    }
    case "ringHash":
      return {
        virtual_nodes: oneof.value.virtualNodes,
        balance_factor_percent: oneof.value.balanceFactorPercent,
      };
    case "maglev":
      return { table_size: oneof.value.tableSize };
    case "mostAvailable":
      return { epsilon: oneof.value.epsilon };
    default:
      return {};
  }
}

function numberOf(settings: StrategySettings, key: string): number {
  const value = settings[key];
  return typeof value === "number" ? value : 0;
}

function metricOf(settings: StrategySettings): T.LoadMetric {
  const value = settings.metric;
  return typeof value === "string" ? (enumValue(T.LoadMetric, value) ?? T.LoadMetric.UNSPECIFIED) : 0;
}

/** The core's settings record of strategy `name` as the settings oneof; undefined when it has none. */
export function encodeStrategySettings(name: string, settings: StrategySettings): SettingsInit | undefined {
  if (Object.keys(settings).length === 0) return undefined;
  switch (name) {
    case "least_load":
      return {
        case: "leastLoad",
        value: { metric: metricOf(settings), randomTieBreak: settings.random_tie_break === true },
      };
    case "power_of_two":
      return {
        case: "powerOfTwo",
        value: {
          metric: metricOf(settings),
          decay: settings.decay_ms === undefined ? undefined : fromMs(numberOf(settings, "decay_ms")),
        },
      };
    case "ring_hash":
      return {
        case: "ringHash",
        value: {
          virtualNodes: numberOf(settings, "virtual_nodes"),
          balanceFactorPercent: numberOf(settings, "balance_factor_percent"),
        },
      };
    case "maglev":
      return { case: "maglev", value: { tableSize: numberOf(settings, "table_size") } };
    case "most_available":
      return { case: "mostAvailable", value: { epsilon: numberOf(settings, "epsilon") } };
    default:
      return undefined;
  }
}
