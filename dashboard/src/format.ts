/** How the dashboard words and colours what the API says. Pure, so unit tests can read it. */
import type { Duration } from "@bufbuild/protobuf/wkt";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";

/** A health state's name as the API spells it (HEALTHY, UNHEALTHY...). */
export function healthName(state: HealthState): string {
  return HealthState[state] ?? "UNSPECIFIED";
}

/** The CSS class of a health state's colour. */
export function healthTone(state: HealthState): "good" | "warn" | "bad" | "info" | "none" {
  switch (state) {
    case HealthState.HEALTHY:
      return "good";
    case HealthState.DEGRADED:
      return "warn";
    case HealthState.UNHEALTHY:
      return "bad";
    case HealthState.RECOVERING:
      return "info";
    default:
      return "none";
  }
}

/** A protobuf Duration in milliseconds. */
export function durationMs(duration: Duration | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds) * 1_000 + duration.nanos / 1_000_000;
}

/** A latency for a table cell: "-" before the first report. */
export function formatLatency(ms: number): string {
  if (ms <= 0) return "-";
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${Math.round(ms)} ms`;
  return `${(ms / 1_000).toFixed(1)} s`;
}

/** A quota amount: whole numbers as they are, large ones shortened (12.5k). */
export function formatAmount(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** The tone of a headroom ratio (remaining / limit). */
export function headroomTone(ratio: number): "good" | "warn" | "bad" {
  if (ratio < 0.1) return "bad";
  if (ratio < 0.3) return "warn";
  return "good";
}
