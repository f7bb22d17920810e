/**
 * Backpressure (behaviour.md S15), only for backends with max_connections > 0: past the soft
 * share of max_connections in flight a backend is penalized (skipped while any accepted
 * backend of the same tier is under it), past the hard share it is excluded. "Past" is
 * strict: with max_connections 4 and the default 25% / 50%, 2 in flight is past soft and 3 is
 * past hard. The count is the in-flight slots before this Select takes its own.
 * Source: Envoy circuit breakers (max_requests) and overload manager; Finagle's admission
 * control. The two-level soft/hard split follows behaviour.md S15.
 */
import type { BackendState } from "../backend-state.js";
import { totalInFlight } from "../backend-state.js";

/** True when `backend` is past `percent` of its max_connections in flight (never when unlimited). */
export function pastShare(backend: BackendState, percent: number): boolean {
  const max = backend.spec.maxConnections;
  return max > 0 && totalInFlight(backend) * 100 > max * percent;
}
