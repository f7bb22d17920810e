import type { BackendSpec, HealthState } from "../model/specs.js";
import type { BackendStatus } from "../model/status.js";

/**
 * Told when one of a backend's load inputs changes (in flight here or elsewhere, latency
 * estimates): how the load indexes of least_load keep their order without a scan per pick.
 * `slot` is the number the watcher registered the backend under.
 */
export interface LoadWatcher {
  loadChanged(slot: number): void;
}

/**
 * One backend's runtime state on this replica, owned by the balancer's ServiceTable. Snapshots
 * hold references to these objects, so counters that change per request (in-flight, latency)
 * are read by pickers without a snapshot rebuild. `spec`, `health`, `draining` and
 * `drainDeadline` mirror the registry's membership (ServiceTable.installed); ejection and the
 * health counters are written through the ServiceTable, which rebuilds the snapshot.
 * The load inputs are accessors: a write tells the backend's LoadWatchers (none for most
 * strategies, so a write costs one length check), which keeps every writer (tickets, load
 * sharing, latency reports, tests) honest without a second way to write them.
 */
export class BackendState {
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  draining = false;
  /** Epoch ms; 0 when not draining. */
  drainDeadline = 0;
  /** Held out of every selection, probes included, by an operator's UNHEALTHY (O10). */
  maintenance = false;
  /** Epoch ms; 0 when not ejected. */
  ejectedUntil = 0;
  /** Selections answered with this backend (tickets issued naming it); a running total. */
  selections = 0;
  #inFlight = 0;
  #remoteInFlight = 0;
  #ewmaLatencyMs = 0;
  #peakEwmaMs = 0;
  #latencyUpdatedAt = 0;
  readonly #watchers: LoadWatcher[] = [];
  readonly #slots: number[] = [];

  constructor(
    public spec: BackendSpec,
    public health: HealthState,
    /** Epoch ms the backend joined or last recovered (slow start). */
    public activeSince: number,
  ) {}

  /** Calls selected here and not yet reported (ticket slots). */
  get inFlight(): number {
    return this.#inFlight;
  }
  set inFlight(value: number) {
    this.#inFlight = value;
    if (this.#watchers.length > 0) this.#changed();
  }

  /**
   * In-flight calls other replicas reported for this backend at their last share (issue 5):
   * at most one share interval old; 0 without Redis.
   */
  get remoteInFlight(): number {
    return this.#remoteInFlight;
  }
  set remoteInFlight(value: number) {
    this.#remoteInFlight = value;
    if (this.#watchers.length > 0) this.#changed();
  }

  /** Time-decayed latency EWMA in ms (load/latency-estimate.ts); 0 until the first latency report. */
  get ewmaLatencyMs(): number {
    return this.#ewmaLatencyMs;
  }
  set ewmaLatencyMs(value: number) {
    this.#ewmaLatencyMs = value;
    if (this.#watchers.length > 0) this.#changed();
  }

  /** Peak-EWMA in ms as of `latencyUpdatedAt` (load/latency-estimate.ts); 0 before any report. */
  get peakEwmaMs(): number {
    return this.#peakEwmaMs;
  }
  set peakEwmaMs(value: number) {
    this.#peakEwmaMs = value;
    if (this.#watchers.length > 0) this.#changed();
  }

  /** Epoch ms of the last latency sample; 0 before any. */
  get latencyUpdatedAt(): number {
    return this.#latencyUpdatedAt;
  }
  set latencyUpdatedAt(value: number) {
    this.#latencyUpdatedAt = value;
    if (this.#watchers.length > 0) this.#changed();
  }

  /** From now on `watcher.loadChanged(slot)` follows every write of a load input. */
  watchLoad(watcher: LoadWatcher, slot: number): void {
    this.#watchers.push(watcher);
    this.#slots.push(slot);
  }

  /** Stops telling `watcher`. */
  unwatchLoad(watcher: LoadWatcher): void {
    const i = this.#watchers.indexOf(watcher);
    if (i < 0) return;
    this.#watchers.splice(i, 1);
    this.#slots.splice(i, 1);
  }

  #changed(): void {
    const watchers = this.#watchers;
    for (let i = 0; i < watchers.length; i++) watchers[i]!.loadChanged(this.#slots[i]!);
  }
}

/** A new backend's state, per the service's initial health (behaviour.md R4). */
export function newBackendState(spec: BackendSpec, initial: HealthState, now: number): BackendState {
  return new BackendState(spec, initial, now);
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
    maintenance: state.maintenance,
  };
}
