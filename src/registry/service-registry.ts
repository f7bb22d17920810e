import { isDeepStrictEqual } from "node:util";
import { type BackendState, newBackendState } from "../balancer/backend-state.js";
import type { PickerDeps } from "../balancer/strategy.js";
import { FulcrumError } from "../shared/errors.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "./defaults.js";
import type { ServiceChange, ServiceEventListener } from "./events.js";
import type { RegisterInput } from "./input.js";
import type { RegistryLimits } from "./limits.js";
import type { BackendSpec, HealthState } from "./model.js";
import { checkName, resolveBackends } from "./resolve-backends.js";
import { resolveServiceConfig } from "./resolve-config.js";
import { ServiceEntry } from "./service-entry.js";
import { describeBackend, type ServiceStatus } from "./status.js";
import { Violations } from "./violations.js";

/** Options of a ServiceRegistry. */
export interface ServiceRegistryOptions extends PickerDeps {
  readonly limits: RegistryLimits;
  readonly onEvent: ServiceEventListener;
}

/** A service name with its counts (ListServices). */
export interface ServiceSummary {
  readonly name: string;
  readonly version: number;
  readonly backends: number;
  readonly healthy: number;
}

/**
 * Membership and versions of every service (behaviour.md R1-R7). Every request is checked in
 * full before anything changes, so a failed call changes no state; every change gets its
 * own version and is told to the listener (Watch) in order.
 */
export class ServiceRegistry {
  private readonly services = new Map<string, ServiceEntry>();
  private lastVersion = 0;

  constructor(private readonly options: ServiceRegistryOptions) {}

  /** The entry of `name`, or undefined. The hot path reads `entry.snapshot`. */
  find(name: string): ServiceEntry | undefined {
    return this.services.get(name);
  }

  /** The entry of `name`, or NOT_FOUND naming it. */
  get(name: string): ServiceEntry {
    const entry = this.services.get(name);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(name)} is not registered`);
    return entry;
  }

  /** Register (REPLACE or MERGE). Returns the version after the call and whether it changed anything. */
  register(input: RegisterInput): { version: number; changed: boolean } {
    const v = new Violations();
    checkName("service", input.service, this.options.limits, v);
    const existing = this.services.get(input.service);
    const config = input.config || !existing ? resolveServiceConfig(input.config, v) : existing.config;
    const specs = resolveBackends(input.backends, this.options.limits, v);
    v.throwIfAny();
    if (input.mode === "merge" && !existing) {
      throw new FulcrumError(
        "not_found",
        `service ${JSON.stringify(input.service)} is not registered (MERGE needs an existing service)`,
      );
    }
    if (!existing) return this.create(input.service, config, specs);
    const changes: ServiceChange[] = [];
    if (!isDeepStrictEqual(existing.config, config)) changes.push({ kind: "config_changed", config });
    const merged =
      input.mode === "merge"
        ? this.mergeBackends(existing, specs, changes)
        : this.replaceBackends(existing, specs, changes);
    const reordered = !isDeepStrictEqual([...merged.keys()], [...existing.backends.keys()]);
    if (merged.size > this.options.limits.maxBackendsPerService) {
      throw new FulcrumError(
        "invalid_argument",
        `backends: service would have ${merged.size} backends, over the limit max_backends_per_service=${this.options.limits.maxBackendsPerService}`,
        { violations: [{ field: "backends", description: "over max_backends_per_service" }] },
      );
    }
    if (changes.length === 0 && !reordered) return { version: existing.version, changed: false };
    existing.config = config;
    existing.backends = merged;
    if (changes.length === 0)
      changes.push({ kind: "snapshot", status: existing.status(this.options.clock.now()) });
    this.commit(existing, changes);
    return { version: existing.version, changed: true };
  }

  /** Removes backends (or the whole service), at once or by draining them first (R3, R6). */
  deregister(
    service: string,
    backendIds: readonly string[],
    drain: boolean,
    drainTimeoutMs: number,
  ): { version: number; removed: number; draining: number } {
    const entry = this.get(service);
    const targets =
      backendIds.length === 0
        ? [...entry.backends.values()]
        : backendIds.flatMap((id) => entry.backends.get(id) ?? []);
    if (!drain) {
      if (backendIds.length === 0) return this.removeService(entry);
      const changes = targets.map(
        (b): ServiceChange => ({ kind: "backend_removed", backendId: b.spec.id, reason: "deregistered" }),
      );
      for (const b of targets) entry.backends.delete(b.spec.id);
      this.commit(entry, changes);
      return { version: entry.version, removed: targets.length, draining: 0 };
    }
    const now = this.options.clock.now();
    const timeout = drainTimeoutMs || DEFAULT_DRAIN_TIMEOUT_MS;
    const changes: ServiceChange[] = [];
    for (const backend of targets.filter((b) => !b.draining)) {
      backend.draining = true;
      backend.drainDeadline = now + timeout;
      changes.push({ kind: "backend_updated", backend: describeBackend(backend, now) });
      this.options.clock.setTimeout(() => this.finishDrain(service, backend), timeout);
    }
    this.commit(entry, changes);
    for (const backend of targets) if (backend.inFlight === 0) this.finishDrain(service, backend);
    return { version: entry.version, removed: 0, draining: changes.length };
  }

  /** Removes a draining backend once idle or past its deadline; no-op otherwise. */
  finishDrain(service: string, backend: BackendState): void {
    const entry = this.services.get(service);
    if (!entry || entry.backends.get(backend.spec.id) !== backend || !backend.draining) return;
    if (backend.inFlight > 0 && this.options.clock.now() < backend.drainDeadline) return;
    entry.backends.delete(backend.spec.id);
    this.commit(entry, [{ kind: "backend_removed", backendId: backend.spec.id, reason: "drained" }]);
  }

  /** Renews leases; returns how many and which listed ids are unknown (R5). */
  heartbeat(service: string, backendIds: readonly string[]): { renewed: number; unknownIds: string[] } {
    const entry = this.get(service);
    const now = this.options.clock.now();
    const unknownIds = backendIds.filter((id) => !entry.backends.has(id));
    const targets =
      backendIds.length === 0
        ? [...entry.backends.values()]
        : backendIds.flatMap((id) => entry.backends.get(id) ?? []);
    let renewed = 0;
    for (const backend of targets) {
      if (backend.spec.leaseTtlMs <= 0) continue;
      backend.leaseExpiresAt = now + backend.spec.leaseTtlMs;
      renewed++;
    }
    return { renewed, unknownIds };
  }

  /** Removes every backend whose lease has lapsed (R5). */
  expireLeases(): void {
    const now = this.options.clock.now();
    for (const entry of this.services.values()) {
      const expired = [...entry.backends.values()].filter(
        (b) => b.leaseExpiresAt > 0 && b.leaseExpiresAt <= now,
      );
      if (expired.length === 0) continue;
      for (const b of expired) entry.backends.delete(b.spec.id);
      this.commit(
        entry,
        expired.map((b) => ({ kind: "backend_removed", backendId: b.spec.id, reason: "lease_expired" })),
      );
    }
  }

  /** Applies a health transition decided by the health policy; rebuilds the snapshot. */
  setHealth(
    service: string,
    backendId: string,
    next: HealthState,
    reason: string,
  ): { version: number; previous: HealthState } {
    const entry = this.get(service);
    const backend = entry.backends.get(backendId);
    if (!backend)
      throw new FulcrumError(
        "not_found",
        `backend ${JSON.stringify(backendId)} is not registered in service ${JSON.stringify(service)}`,
      );
    const previous = backend.health;
    if (next === "healthy") {
      backend.consecutiveFailures = 0;
      backend.consecutiveSuccesses = 0;
    }
    if (previous === next) return { version: entry.version, previous };
    backend.health = next;
    this.commit(entry, [{ kind: "health_changed", backendId, previous, current: next, reason }]);
    return { version: entry.version, previous };
  }

  /** GetService. */
  describe(service: string): ServiceStatus {
    return this.get(service).status(this.options.clock.now());
  }

  /** ListServices, sorted by name. */
  list(prefix: string): ServiceSummary[] {
    return [...this.services.values()]
      .filter((entry) => entry.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((entry) => ({
        name: entry.name,
        version: entry.version,
        backends: entry.backends.size,
        healthy: [...entry.backends.values()].filter((b) => b.health === "healthy" && !b.draining).length,
      }));
  }

  /** Every service name. */
  names(): string[] {
    return [...this.services.keys()];
  }

  private create(
    name: string,
    config: ServiceEntry["config"],
    specs: BackendSpec[],
  ): { version: number; changed: boolean } {
    if (this.services.size >= this.options.limits.maxServices) {
      throw new FulcrumError(
        "resource_exhausted",
        `service: ${this.services.size} services registered, the limit max_services`,
      );
    }
    const now = this.options.clock.now();
    const backends = new Map(
      specs.map((spec) => [spec.id, newBackendState(spec, config.health.initialState, now)]),
    );
    const entry = new ServiceEntry(name, config, backends, this.options);
    this.services.set(name, entry);
    entry.version = ++this.lastVersion;
    entry.rebuild();
    this.options.onEvent({
      service: name,
      version: entry.version,
      change: { kind: "snapshot", status: entry.status(now) },
    });
    return { version: entry.version, changed: true };
  }

  private replaceBackends(
    entry: ServiceEntry,
    specs: BackendSpec[],
    changes: ServiceChange[],
  ): Map<string, BackendState> {
    const next = new Map<string, BackendState>();
    for (const spec of specs) next.set(spec.id, this.upsert(entry, spec, changes));
    for (const old of entry.backends.values()) {
      if (!next.has(old.spec.id))
        changes.push({ kind: "backend_removed", backendId: old.spec.id, reason: "replaced" });
    }
    return next;
  }

  private mergeBackends(
    entry: ServiceEntry,
    specs: BackendSpec[],
    changes: ServiceChange[],
  ): Map<string, BackendState> {
    const next = new Map(entry.backends);
    for (const spec of specs) next.set(spec.id, this.upsert(entry, spec, changes));
    return next;
  }

  /** The state for `spec`: the existing one (updated) when the id stays, a fresh one otherwise. */
  private upsert(entry: ServiceEntry, spec: BackendSpec, changes: ServiceChange[]): BackendState {
    const now = this.options.clock.now();
    const existing = entry.backends.get(spec.id);
    if (!existing) {
      const fresh = newBackendState(spec, entry.config.health.initialState, now);
      changes.push({ kind: "backend_added", backend: describeBackend(fresh, now) });
      return fresh;
    }
    if (!isDeepStrictEqual(existing.spec, spec)) {
      existing.spec = spec;
      if (spec.leaseTtlMs > 0 && existing.leaseExpiresAt === 0)
        existing.leaseExpiresAt = now + spec.leaseTtlMs;
      changes.push({ kind: "backend_updated", backend: describeBackend(existing, now) });
    }
    return existing;
  }

  private removeService(entry: ServiceEntry): { version: number; removed: number; draining: number } {
    this.services.delete(entry.name);
    const version = ++this.lastVersion;
    this.options.onEvent({ service: entry.name, version, change: { kind: "service_removed" } });
    return { version, removed: entry.backends.size, draining: 0 };
  }

  /** Gives each change its own version, rebuilds the snapshot, and tells the listener. */
  private commit(entry: ServiceEntry, changes: readonly ServiceChange[]): void {
    if (changes.length === 0) return;
    const versions = changes.map(() => ++this.lastVersion);
    entry.version = versions[versions.length - 1]!;
    entry.rebuild();
    changes.forEach((change, i) => {
      this.options.onEvent({ service: entry.name, version: versions[i]!, change });
    });
  }
}
