/** The `load` section of a service config (L1-L6): panic threshold, slow start, backpressure, zones, tickets. */
import type { DeepPartial } from "../model/input.js";
import type { PolicyParser } from "../model/policy-parser.js";
import type { SlowStartPolicy } from "../model/specs.js";
import type { Violations } from "../model/violations.js";

export const DEFAULT_PANIC_THRESHOLD_PERCENT = 50;
export const DEFAULT_BACKPRESSURE_SOFT_PERCENT = 25;
export const DEFAULT_BACKPRESSURE_HARD_PERCENT = 50;
export const DEFAULT_ZONE_MIN_HEALTHY_PERCENT = 70;
export const DEFAULT_TICKET_LEASE_MS = 60_000;
export const DEFAULT_SLOW_START_AGGRESSION = 1;
export const DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT = 10;
/** Backpressure is a percentage of capacity in flight; past 1000% it means nothing. */
const MAX_BACKPRESSURE_PERCENT = 1000;

/** Parses `config.load`, recording every bad field under `path` (hard backpressure must be >= soft). */
export const parseLoadPolicy: PolicyParser<"load"> = (input, path, v) => {
  const l = input ?? {};
  const percent = (field: string, value: number | undefined, min: number, max: number, fallback: number) =>
    v.intInRange(`${path}.${field}`, value || undefined, min, max, fallback);
  const soft = percent(
    "backpressure_soft_percent",
    l.backpressureSoftPercent,
    1,
    MAX_BACKPRESSURE_PERCENT,
    DEFAULT_BACKPRESSURE_SOFT_PERCENT,
  );
  const hard = percent(
    "backpressure_hard_percent",
    l.backpressureHardPercent,
    1,
    MAX_BACKPRESSURE_PERCENT,
    DEFAULT_BACKPRESSURE_HARD_PERCENT,
  );
  if (hard < soft)
    v.add(`${path}.backpressure_hard_percent`, `must be >= backpressure_soft_percent (${soft}), got ${hard}`);
  return {
    panicThresholdPercent: percent(
      "panic_threshold_percent",
      l.panicThresholdPercent,
      0,
      100,
      DEFAULT_PANIC_THRESHOLD_PERCENT,
    ),
    failOpen: l.failOpen ?? false,
    slowStart: l.slowStart?.windowMs ? parseSlowStart(l.slowStart, `${path}.slow_start`, v) : undefined,
    backpressureSoftPercent: soft,
    backpressureHardPercent: hard,
    zoneMinHealthyPercent: percent(
      "zone_min_healthy_percent",
      l.zoneMinHealthyPercent,
      1,
      100,
      DEFAULT_ZONE_MIN_HEALTHY_PERCENT,
    ),
    ticketLeaseMs: v.duration(`${path}.ticket_lease`, l.ticketLeaseMs, DEFAULT_TICKET_LEASE_MS),
  };
};

function parseSlowStart(input: DeepPartial<SlowStartPolicy>, path: string, v: Violations): SlowStartPolicy {
  return {
    windowMs: v.duration(`${path}.window`, input.windowMs, 0),
    aggression: v.numberInRange(
      `${path}.aggression`,
      input.aggression || undefined,
      0.01,
      100,
      DEFAULT_SLOW_START_AGGRESSION,
    ),
    minWeightPercent: v.intInRange(
      `${path}.min_weight_percent`,
      input.minWeightPercent || undefined,
      1,
      100,
      DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT,
    ),
  };
}
