/**
 * Helpers for strategy settings (behaviour.md S17): unknown keys and out-of-range values are
 * named by their proto field. Settings come from rpc/codec/strategy-settings.ts flat and snake_case, durations as
 * `<field>_ms`; a proto zero value (0, false, "") means "use the default".
 */
import type { FieldViolation } from "../../shared/errors.js";
import { LOAD_METRICS, type LoadMetricName } from "../load/load-metric.js";
import type { StrategySettings } from "../strategy.js";

/** The proto field a settings key came from: `decay_ms` -> `decay`. */
export function protoField(key: string): string {
  return key.endsWith("_ms") ? key.slice(0, -3) : key;
}

/** One violation per key not in `allowed`. */
export function unknownKeys(
  strategy: string,
  settings: StrategySettings,
  allowed: readonly string[],
): FieldViolation[] {
  return Object.keys(settings)
    .filter((key) => !allowed.includes(key))
    .map((key) => ({
      field: protoField(key),
      description:
        allowed.length === 0
          ? `${strategy} takes no settings`
          : `unknown setting for ${strategy} (known: ${allowed.map(protoField).join(", ")})`,
    }));
}

/** A numeric setting, or `fallback` when unset or 0 (the proto zero value). */
export function numberSetting(settings: StrategySettings, key: string, fallback: number): number {
  const value = settings[key];
  return typeof value === "number" && value !== 0 ? value : fallback;
}

/** Checks that a numeric setting, when set and non-zero, is within [min, max] (and an integer if asked). */
export function checkNumber(
  settings: StrategySettings,
  key: string,
  range: { readonly min: number; readonly max: number; readonly integer: boolean; readonly unit?: string },
  out: FieldViolation[],
): void {
  const value = settings[key];
  if (value === undefined || value === 0) return;
  const unit = range.unit ? ` ${range.unit}` : "";
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    value >= range.min &&
    value <= range.max &&
    (!range.integer || Number.isInteger(value));
  if (!ok) {
    const kind = range.integer ? "an integer" : "a number";
    out.push({
      field: protoField(key),
      description: `must be ${kind} from ${range.min} to ${range.max}${unit}, got ${String(value)}${unit}`,
    });
  }
}

/** Checks that a boolean setting, when present, is a boolean. */
export function checkBoolean(settings: StrategySettings, key: string, out: FieldViolation[]): void {
  const value = settings[key];
  if (value !== undefined && typeof value !== "boolean")
    out.push({ field: protoField(key), description: `must be true or false, got ${String(value)}` });
}

/** Checks that `metric`, when present, names a LoadMetric. */
export function checkMetric(settings: StrategySettings, out: FieldViolation[]): void {
  const value = settings.metric;
  if (value !== undefined && !LOAD_METRICS.includes(value as LoadMetricName))
    out.push({
      field: "metric",
      description: `must be one of ${LOAD_METRICS.join(", ")}, got ${String(value)}`,
    });
}

/** The `metric` setting, `in_flight` when unset. */
export function metricSetting(settings: StrategySettings): LoadMetricName {
  const value = settings.metric;
  return LOAD_METRICS.includes(value as LoadMetricName) ? (value as LoadMetricName) : "in_flight";
}
