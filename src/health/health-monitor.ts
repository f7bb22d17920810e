/**
 * Drives each backend's health from what is learned about it (behaviour.md H1-H6, R5): Report
 * outcomes and active probe results run the H1 state machine (policy.ts), SetHealth overrides
 * it, outlier detection ejects (outlier-tracker.ts), and backends Unhealthy for too long are
 * removed. Transitions go through the registry, so every replica and every watcher sees them;
 * counters, probe selection and ejection are this replica's own. An operator's UNHEALTHY is
 * maintenance (O10): the registry keeps the flag for every replica, no probe selection goes
 * there, and reports and probes leave the backend's health alone until an operator's HEALTHY.
 */
import type { BackendState } from "../balancer/backend-state.js";
import type { CallResult } from "../balancer/outcome.js";
import type { ServiceConfig } from "../model/specs.js";
import type { ServiceEvent } from "../registry/events.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import { type Clock, every } from "../shared/clock.js";
import type { Random } from "../shared/random.js";
import { OutlierTracker } from "./outlier-tracker.js";
import {
  applyCallResult,
  applySignal,
  deregisterDue,
  type HealthRecord,
  type HealthStep,
  initialHealthRecord,
  markProbeSelected,
  mayProbeSelect,
  overrideHealth,
  releaseProbe,
} from "./policy.js";
import { signalOfProbe } from "./probe.js";
import { probeTargetsOf } from "./probe-targets.js";
import type { ProbeResult, Prober, ProbeSink } from "./prober.js";

/** How often backends Unhealthy past deregister_critical_after are looked for. */
export const CRITICAL_SWEEP_INTERVAL_MS = 1_000;

/**
 * The one port through which health reads and writes this replica's runtime view of backends
 * (the balancer's ServiceTable implements it): counters shown by GetService, and outlier
 * ejection, which changes eligibility. Shared transitions go through the registry instead.
 */
export interface HealthTargets {
  find(
    service: string,
  ): { readonly config: ServiceConfig; readonly backends: ReadonlyMap<string, BackendState> } | undefined;
  setCounters(service: string, backendId: string, failures: number, successes: number): void;
  setEjections(
    service: string,
    ejected: readonly { readonly backendId: string; readonly until: number }[],
    returned: readonly string[],
  ): void;
}

/** A health transition sent to the registry; settled by its change event or by its answer. */
interface PendingTransition {
  readonly state: BackendState["health"];
}

/** Options of a HealthMonitor. */
export interface HealthMonitorOptions {
  readonly clock: Clock;
  readonly random: Random;
  /** Shared health transitions (versioned, seen by every replica) and removals. */
  readonly registry: Pick<ServiceRegistry, "setHealth" | "removeBackends">;
  /** This replica's runtime view of every backend. */
  readonly targets: HealthTargets;
  /** Makes the active checker that feeds `sink` (this monitor); undefined runs passive health only. */
  readonly createProber: ((sink: ProbeSink) => Prober) | undefined;
  readonly onError: (message: string, cause: unknown) => void;
}

interface ServiceHealth {
  readonly records: Map<string, HealthRecord>;
  /**
   * Transitions this replica sent to the registry and has not yet seen come back, per
   * backend, oldest first. While one is outstanding the registry's state lags this replica's
   * record, and the record (with its counters) stays the truth: a batch of outcomes counts
   * one by one (H9) instead of restarting from the registry's older state.
   */
  readonly pending: Map<string, PendingTransition[]>;
  readonly outliers: OutlierTracker;
  stopOutlierSweep: (() => void) | undefined;
  outlierIntervalMs: number;
}

/** The health of every backend this replica knows. */
export class HealthMonitor {
  private readonly services = new Map<string, ServiceHealth>();
  private readonly syncPending = new Set<string>();
  private readonly stopCriticalSweep: () => void;
  private readonly prober: Prober | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.prober = options.createProber?.((service, backendId, result) => {
      this.onProbe(service, backendId, result);
    });
    this.stopCriticalSweep = every(options.clock, CRITICAL_SWEEP_INTERVAL_MS, () => this.removeCritical());
  }

  /** Follows registry changes: membership, config and health set elsewhere (another replica, SetHealth). */
  onServiceEvent(event: ServiceEvent): void {
    const { change } = event;
    if (change.kind === "service_removed") this.forget(event.service);
    else if (change.kind === "health_changed") this.mirror(event.service, change.backendId, change.current);
    else this.syncSoon(event.service);
  }

  /** A Report outcome for `backend` (H1, H3, H4). */
  onOutcome(service: string, backend: BackendState, result: CallResult): void {
    const entry = this.options.targets.find(service);
    const health = this.services.get(service);
    if (!entry || !health) return;
    health.outliers.record(backend.spec.id, result);
    if (backend.maintenance) return;
    const record = releaseProbe(this.recordOf(health, backend));
    this.step(
      service,
      backend,
      applyCallResult(record, result, entry.config.health, this.options.clock.now()),
    );
  }

  /** An active check's result, from the prober or a health agent (H5, H8). */
  onProbe(service: string, backendId: string, result: Pick<ProbeResult, "status" | "detail">): boolean {
    const entry = this.options.targets.find(service);
    const backend = entry?.backends.get(backendId);
    const health = this.services.get(service);
    if (!entry || !backend || !health) return false;
    if (backend.maintenance) return true;
    const signal = signalOfProbe({ status: result.status, detail: result.detail });
    this.step(
      service,
      backend,
      applySignal(this.recordOf(health, backend), signal, entry.config.health, this.options.clock.now()),
    );
    return true;
  }

  /**
   * SetHealth (H6): counters reset on healthy; unhealthy at once, and held as maintenance
   * (O10) until healthy. Resolves once every replica can see it.
   */
  async override(service: string, backendId: string, target: "healthy" | "unhealthy", reason: string) {
    const backend = this.options.targets.find(service)?.backends.get(backendId);
    const health = this.services.get(service);
    const result = await this.options.registry.setHealth(service, backendId, target, reason, "operator");
    if (backend && health) {
      const step = overrideHealth(this.recordOf(health, backend), target, this.options.clock.now(), reason);
      this.keep(service, health, backend, step.record);
    }
    return result;
  }

  /**
   * H2: an Unhealthy backend due for its one probe selection, marked as selected; undefined
   * when none is due. Select sends the request there instead of to a healthy backend.
   */
  probeSelection(service: string, candidates: readonly BackendState[]): BackendState | undefined {
    const entry = this.options.targets.find(service);
    const health = this.services.get(service);
    if (!entry || !health) return undefined;
    const now = this.options.clock.now();
    for (const backend of candidates) {
      if (backend.health !== "unhealthy" || backend.draining || backend.maintenance) continue;
      const record = this.recordOf(health, backend);
      if (!mayProbeSelect(record, entry.config.health, now)) continue;
      health.records.set(backend.spec.id, markProbeSelected(record, now));
      return backend;
    }
    return undefined;
  }

  /** A probe selection ended with no outcome (its ticket expired): free the probe slot. */
  probeAbandoned(service: string, backend: BackendState): void {
    const health = this.services.get(service);
    const record = health?.records.get(backend.spec.id);
    if (health && record) health.records.set(backend.spec.id, releaseProbe(record));
  }

  /** Stops timers and probes. */
  stop(): void {
    this.stopCriticalSweep();
    for (const name of [...this.services.keys()]) this.forget(name);
    this.prober?.stop();
  }

  /**
   * This replica's record of `backend`, restarted in the registry's state when that moved
   * elsewhere. A restart into Unhealthy starts the probe clock now (H2): the first probe
   * selection comes a probe_interval after this replica learned of the transition, never at once.
   */
  private recordOf(health: ServiceHealth, backend: BackendState): HealthRecord {
    const known = health.records.get(backend.spec.id);
    if (known && (known.health === backend.health || health.pending.has(backend.spec.id))) return known;
    const fresh = initialHealthRecord(backend.health, this.options.clock.now());
    health.records.set(backend.spec.id, fresh);
    return fresh;
  }

  /** Keeps the new record and counters; a transition goes to the registry (shared, versioned). */
  private step(service: string, backend: BackendState, step: HealthStep): void {
    const health = this.services.get(service);
    if (!health) return;
    this.keep(service, health, backend, step.record);
    if (!step.transition) return;
    const { current, reason } = step.transition;
    const id = backend.spec.id;
    const pending = health.pending.get(id) ?? [];
    const sent: PendingTransition = { state: current };
    pending.push(sent);
    health.pending.set(id, pending);
    this.options.registry.setHealth(service, id, current, reason, "policy").then(
      // Taken without a change event (already in that state) is done too: this one, not a later twin.
      () => this.settle(health, id, (transition) => transition === sent),
      (cause: unknown) => {
        // Not recorded: the registry's state is the truth again from the next outcome on.
        health.pending.delete(id);
        this.options.onError(`recording ${id} ${current}`, cause);
      },
    );
  }

  /** Drops the oldest outstanding transition that `matches` and those before it; true when there was one. */
  private settle(
    health: ServiceHealth,
    backendId: string,
    matches: (transition: PendingTransition) => boolean,
  ): boolean {
    const pending = health.pending.get(backendId);
    const at = pending?.findIndex(matches) ?? -1;
    if (!pending || at < 0) return false;
    pending.splice(0, at + 1);
    if (pending.length === 0) health.pending.delete(backendId);
    return true;
  }

  private keep(service: string, health: ServiceHealth, backend: BackendState, record: HealthRecord): void {
    health.records.set(backend.spec.id, record);
    const { consecutiveFailures, consecutiveSuccesses } = record;
    this.options.targets.setCounters(service, backend.spec.id, consecutiveFailures, consecutiveSuccesses);
  }

  /**
   * Health set elsewhere wins over local counters: restart them in the new state, with the
   * probe clock starting now for Unhealthy (recordOf). This replica's own transitions coming
   * back change nothing: its record is already past them.
   */
  private mirror(service: string, backendId: string, current: BackendState["health"]): void {
    const health = this.services.get(service);
    if (!health) return;
    const own = this.settle(health, backendId, (transition) => transition.state === current);
    let record = health.records.get(backendId);
    if (!record) return;
    if (!own && record.health !== current) {
      record = initialHealthRecord(current, this.options.clock.now());
      health.records.set(backendId, record);
    }
    // Installing the change restarted a recovered backend's counters in the service table; an
    // own transition arrives after later outcomes of its batch were counted, so the record's win.
    const { consecutiveFailures, consecutiveSuccesses } = record;
    this.options.targets.setCounters(service, backendId, consecutiveFailures, consecutiveSuccesses);
  }

  /**
   * One registration emits a change per backend; following the service once per batch (not once
   * per change) keeps a large MERGE linear. Runs before the Register's answer goes out.
   */
  private syncSoon(service: string): void {
    if (this.syncPending.has(service)) return;
    this.syncPending.add(service);
    queueMicrotask(() => {
      this.syncPending.delete(service);
      this.sync(service);
    });
  }

  /** Membership or config changed: follow it with records, outlier counters and probes. */
  private sync(service: string): void {
    const entry = this.options.targets.find(service);
    if (!entry) {
      this.forget(service);
      return;
    }
    let health = this.services.get(service);
    if (!health) {
      health = {
        records: new Map(),
        pending: new Map(),
        outliers: new OutlierTracker(),
        stopOutlierSweep: undefined,
        outlierIntervalMs: 0,
      };
      this.services.set(service, health);
    }
    for (const id of [...health.records.keys()]) if (!entry.backends.has(id)) health.records.delete(id);
    for (const id of [...health.pending.keys()]) if (!entry.backends.has(id)) health.pending.delete(id);
    health.outliers.sync(entry.backends.keys());
    this.scheduleOutlierSweep(service, health);
    this.prober?.sync(
      service,
      probeTargetsOf(
        [...entry.backends.values()].map((b) => b.spec),
        entry.config.health,
      ),
    );
  }

  private scheduleOutlierSweep(service: string, health: ServiceHealth): void {
    const policy = this.options.targets.find(service)?.config.outlier;
    const interval = policy?.enabled ? policy.intervalMs : 0;
    if (interval === health.outlierIntervalMs) return;
    health.stopOutlierSweep?.();
    health.outlierIntervalMs = interval;
    health.stopOutlierSweep =
      interval > 0 ? every(this.options.clock, interval, () => this.sweepOutliers(service)) : undefined;
  }

  /** H4: applies one outlier sweep; ejection changes eligibility, so the snapshot is rebuilt. */
  private sweepOutliers(service: string): void {
    const entry = this.options.targets.find(service);
    const health = this.services.get(service);
    if (!entry || !health) return;
    const result = health.outliers.sweep(entry.config.outlier, this.options.clock.now(), this.options.random);
    if (result.ejected.length > 0 || result.returned.length > 0)
      this.options.targets.setEjections(service, result.ejected, result.returned);
  }

  /** R5 deregister-after-critical. */
  private removeCritical(): void {
    const now = this.options.clock.now();
    for (const [service, health] of this.services) {
      const policy = this.options.targets.find(service)?.config.health;
      if (!policy || policy.deregisterCriticalAfterMs <= 0) continue;
      const due = [...health.records]
        .filter(([, record]) => deregisterDue(record, policy, now))
        .map(([id]) => id);
      if (due.length === 0) continue;
      this.options.registry.removeBackends(service, due, "critical_too_long").catch((cause: unknown) => {
        this.options.onError(`removing ${due.join(", ")} after deregister_critical_after`, cause);
      });
    }
  }

  private forget(service: string): void {
    const health = this.services.get(service);
    health?.stopOutlierSweep?.();
    this.services.delete(service);
    this.prober?.sync(service, []);
  }
}
