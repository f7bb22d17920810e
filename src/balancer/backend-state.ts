import type { BackendSpec, HealthState } from "../model/specs.js";
import type { BackendStatus } from "../model/status.js";

/**
 * One backend's runtime state on this replica, owned by the balancer's ServiceTable. Snapshots
 * hold references to these objects, so counters that change per request (in-flight, latency)
 * are read by pickers without a snapshot rebuild. `spec`, `health`, `draining` and
 * `drainDeadline` mirror the registry's membership (ServiceTable.installed); ejection and the
 * health counters are written through the ServiceTable, which rebuilds the snapshot.
 */
export interface BackendState {
  spec: BackendSpec;
  health: HealthState;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  inFlight: number;
  /**
   * In-flight calls other replicas reported for this backend at their last share (issue 5):
   * at most one share interval old; 0 without Redis.
   */
  remoteInFlight: number;
  /** Time-decayed latency EWMA in ms (load/latency-estimate.ts); 0 until the first latency report. */
  ewmaLatencyMs: number;
  /** Peak-EWMA in ms as of `latencyUpdatedAt` (load/latency-estimate.ts); 0 or absent before any report. */
  peakEwmaMs?: number;
  /** Epoch ms of the last latency sample; 0 or absent before any. */
  latencyUpdatedAt?: number;
  draining: boolean;
  /** Epoch ms; 0 when not draining. */
  drainDeadline: number;
  /** Epoch ms the backend joined or last recovered (slow start). */
  activeSince: number;
  /** Epoch ms; 0 when not ejected. */
  ejectedUntil: number;
  /** Selections answered with this backend (tickets issued naming it); a running total. */
  selections: number;
}

/** A new backend's state, per the service's initial health (behaviour.md R4). */
export function newBackendState(spec: BackendSpec, initial: HealthState, now: number): BackendState {
  return {
    spec,
    health: initial,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    inFlight: 0,
    remoteInFlight: 0,
    ewmaLatencyMs: 0,
    peakEwmaMs: 0,
    latencyUpdatedAt: 0,
    draining: false,
    drainDeadline: 0,
    activeSince: now,
    ejectedUntil: 0,
    selections: 0,
  };
}

/** Calls in flight to `backend` from every replica, as far as this one knows: what load metrics and backpressure compare. */
export function totalInFlight(backend: BackendState): number {
  return backend.inFlight + backend.remoteInFlight;
}

/** A point-in-time copy of a backend's state, as GetService and Watch show it. */
export function describeBackend(state: BackendState, now: number): BackendStatus {
  return {
    spec: state.spec,
    health: state.health,
    draining: state.draining,
    inFlight: totalInFlight(state),
    consecutiveFailures: state.consecutiveFailures,
    ewmaLatencyMs: state.ewmaLatencyMs,
    quotaRemaining: {},
    pinnedSessions: 0,
    ejected: state.ejectedUntil > now,
    selections: state.selections,
  };
}
