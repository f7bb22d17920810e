/**
 * Load metrics (behaviour.md S5, S6): how loaded a backend is, as least_load and power_of_two
 * compare it. Choosing (the strategies) and measuring (here) are separate pieces, as in tower.
 * - `in_flight`: calls selected and not yet reported (ticket slots).
 * - `ewma_latency`: the time-decayed latency EWMA in ms.
 * - `peak_ewma`: the peak-EWMA in ms (floored at PEAK_EWMA_MIN_RTT_MS so that in-flight still
 *   counts for a backend never measured or long idle) times (in-flight + 1): tower's cost.
 * Source: tower `load/peak_ewma.rs` (cost = rtt * (pending + 1)), Finagle `PeakEwma`.
 */
import type { BackendState } from "../backend-state.js";
import { totalInFlight } from "../backend-state.js";
import { peakEwmaAt } from "./latency-estimate.js";

/** The LoadMetric names of the proto, lower case. */
export const LOAD_METRICS = ["in_flight", "ewma_latency", "peak_ewma"] as const;

/** A LoadMetric name. */
export type LoadMetricName = (typeof LOAD_METRICS)[number];

/** Floor of the round-trip estimate in the peak-EWMA cost, in ms. */
export const PEAK_EWMA_MIN_RTT_MS = 1;

/** A backend's load at `now` (epoch ms); lower is better; may be NaN only if its inputs are. */
export type LoadFunction = (backend: BackendState, now: number) => number;

const inFlight: LoadFunction = (backend) => totalInFlight(backend);
const ewmaLatency: LoadFunction = (backend) => backend.ewmaLatencyMs;

/** The load function of `metric`, with `decayMs` as the peak-EWMA decay. */
export function loadFunction(metric: LoadMetricName, decayMs: number): LoadFunction {
  switch (metric) {
    case "in_flight":
      return inFlight;
    case "ewma_latency":
      return ewmaLatency;
    case "peak_ewma":
      return (backend, now) =>
        Math.max(PEAK_EWMA_MIN_RTT_MS, peakEwmaAt(backend, now, decayMs)) * (totalInFlight(backend) + 1);
  }
}

/** True when the metric reads the clock (the in-flight count does not). */
export function metricReadsClock(metric: LoadMetricName): boolean {
  return metric !== "in_flight";
}
