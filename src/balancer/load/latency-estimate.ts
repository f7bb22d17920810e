/**
 * Latency estimates fed by Report (behaviour.md S6): a time-decayed EWMA and Finagle's
 * peak-EWMA, both on the injected clock.
 *
 * What: `ewmaLatencyMs` moves toward each sample by `1 - exp(-elapsed / decay)`, so the weight
 * of the past depends on time, not on how many samples arrived. `peakEwmaMs` jumps to any
 * sample above it (the peak) and otherwise decays the same way; reads decay it toward 0 with
 * the time since the last sample, so an idle slow backend is tried again.
 * Why: a count-based EWMA lets a burst of reports erase history; the peak variant reacts at
 * once to a slow backend and forgets it only gradually (good for picking, tower's default).
 * Source: Finagle `PeakEwma` (observe: `if (rtt > cost) cost = rtt else cost = cost*w +
 * rtt*(1-w)`, `w = exp(-td/tau)`; a read is `observe(0)`), tower `load/peak_ewma.rs`. Unlike
 * both, reads here are pure (they compute the decay without storing it).
 */
import type { BackendState } from "../backend-state.js";

/** Decay (tau) of the latency estimates when the strategy sets none, in ms (proto default 10 s). */
export const DEFAULT_LATENCY_DECAY_MS = 10_000;

/** The estimate fields of a backend (BackendState carries them under these names). */
export type LatencyFields = Pick<BackendState, "ewmaLatencyMs" | "peakEwmaMs" | "latencyUpdatedAt">;

/** Folds one latency sample (ms, >= 0) observed at `now` into both estimates. */
export function recordLatency(backend: LatencyFields, sampleMs: number, now: number, decayMs: number): void {
  const last = backend.latencyUpdatedAt ?? 0;
  if (last === 0) {
    backend.ewmaLatencyMs = sampleMs;
    backend.peakEwmaMs = sampleMs;
    backend.latencyUpdatedAt = now;
    return;
  }
  const w = Math.exp(-Math.max(0, now - last) / decayMs);
  backend.ewmaLatencyMs = backend.ewmaLatencyMs * w + sampleMs * (1 - w);
  const peak = backend.peakEwmaMs ?? 0;
  backend.peakEwmaMs = sampleMs > peak ? sampleMs : peak * w + sampleMs * (1 - w);
  backend.latencyUpdatedAt = now;
}

/** The peak-EWMA as read at `now`: decayed toward 0 since the last sample; 0 before any sample. */
export function peakEwmaAt(backend: LatencyFields, now: number, decayMs: number): number {
  const last = backend.latencyUpdatedAt ?? 0;
  if (last === 0) return 0;
  return (backend.peakEwmaMs ?? 0) * Math.exp(-Math.max(0, now - last) / decayMs);
}
