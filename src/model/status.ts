import type { BackendSpec, HealthState, ServiceConfig } from "./specs.js";

/** A backend as GetService and Watch show it: what was registered plus its live state. */
export interface BackendStatus {
  readonly spec: BackendSpec;
  readonly health: HealthState;
  readonly draining: boolean;
  readonly inFlight: number;
  readonly consecutiveFailures: number;
  readonly ewmaLatencyMs: number;
  readonly quotaRemaining: Readonly<Record<string, number>>;
  readonly pinnedSessions: number;
  readonly ejected: boolean;
  /** Selections this replica answered with this backend since it joined here; a running total. */
  readonly selections: number;
  /** Held out of every selection by an operator's UNHEALTHY (O10). */
  readonly maintenance: boolean;
}

/** A service as GetService and Watch snapshots show it. */
export interface ServiceStatus {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly version: number;
  readonly backends: readonly BackendStatus[];
}
