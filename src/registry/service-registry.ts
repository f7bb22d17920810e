import { DEFAULT_REGISTER_MODE, type RegisterInput } from "../model/input.js";
import type { RegistryLimits } from "../model/limits.js";
import type { MemberBackend, MemberService, MembershipFollower } from "../model/membership.js";
import type { HealthState } from "../model/specs.js";
import type { ServiceStatus } from "../model/status.js";
import type { StrategyParser } from "../model/strategy-parser.js";
import { Violations } from "../model/violations.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import { DEFAULT_DRAIN_TIMEOUT_MS } from "./defaults.js";
import type { ServiceEventListener } from "./events.js";
import { logFailure } from "./log-failure.js";
import { type Plan, planDrain, planHealth, planRegister, planRemove } from "./plan.js";
import { extendLeases, memberOf, type Registered, refreshChange, statusOf, storedOf } from "./registered.js";
import type { AppendedEntry, LeaseRenewal, RegistryLog, StoredService } from "./registry-log.js";
import { checkName, resolveBackends } from "./resolve-backends.js";
import { resolveServiceConfig } from "./resolve-config.js";

/** Plans that lose a compare-and-set to another replica are re-planned this often before giving up. */
const MAX_CONFLICT_RETRIES = 8;

/** Options of a ServiceRegistry. */
export interface ServiceRegistryOptions {
  readonly clock: Clock;
  readonly limits: RegistryLimits;
  /** Told about every membership change before its events go out (the balancer's service table). */
  readonly members: MembershipFollower;
  /** Parses the strategy part of a config (the balancer's strategy catalog). */
  readonly parseStrategy: StrategyParser;
  readonly log: RegistryLog;
  readonly onEvent: ServiceEventListener;
  /** True while something other than in-flight calls holds a draining backend (pinned sessions). */
  readonly drainHold?: (service: string, backendId: string) => Promise<boolean>;
  /** Failures of background work (drain completion, lease expiry) that no caller waits for. */
  readonly onBackgroundError: (message: string, cause: unknown) => void;
}

/** A service name with its counts (ListServices). */
export interface ServiceSummary {
  readonly name: string;
  readonly version: number;
  readonly backends: number;
  readonly healthy: number;
}

/**
 * Membership and versions of every service (behaviour.md R1-R7). A mutation is checked in full
 * and planned against the current state without touching it, appended to the RegistryLog
 * (compare-and-set on the service version: the replication point), and only then applied, so
 * a failed call changes nothing and an acknowledged change is never lost. Changes other
 * replicas append arrive through the log and are applied the same way, with the same versions.
 */
export class ServiceRegistry {
  private readonly services = new Map<string, Registered>();
  /** Last version of every service ever seen, removed ones included: versions are never reused. */
  private readonly versions = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private readonly pending = new Set<Promise<unknown>>();
  /** Mutations of one service run one at a time on this replica; only replicas contend. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: ServiceRegistryOptions) {}

  /** Loads every service from the log and follows other replicas' changes. */
  async start(): Promise<void> {
    this.unsubscribe = await this.options.log.subscribe({
      appended: (entry) => this.onRemoteEntry(entry),
      renewed: (renewal) => this.onRemoteRenewal(renewal),
      reconnected: () => this.background("resync after reconnect", this.resyncAll()),
    });
    await this.resyncAll();
  }

  /** Resolves once background work started so far (drains, lease expiry, resyncs) has finished. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** Stops following the log. */
  stop(): void {
    this.unsubscribe?.();
  }

  /** The membership of `name`, or undefined. */
  find(name: string): MemberService | undefined {
    const entry = this.services.get(name);
    return entry && memberOf(entry);
  }

  /** The membership of `name`, or NOT_FOUND naming it. */
  get(name: string): MemberService {
    return memberOf(this.entry(name));
  }

  private entry(name: string): Registered {
    const entry = this.services.get(name);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(name)} is not registered`);
    return entry;
  }

  /** Register (REPLACE or MERGE). Returns the version after the call and whether it changed anything. */
  async register(input: RegisterInput): Promise<{ version: number; changed: boolean }> {
    const v = new Violations();
    checkName("service", input.service, this.options.limits, v);
    const specs = resolveBackends(input.backends, this.options.limits, v);
    const { parseStrategy } = this.options;
    const requested = input.config ? resolveServiceConfig(input.config, v, parseStrategy) : undefined;
    v.throwIfAny();
    const mode = input.mode ?? DEFAULT_REGISTER_MODE;
    const changed = await this.mutate(input.service, (current) => {
      if (!current && mode === "merge") {
        throw new FulcrumError(
          "not_found",
          `service ${JSON.stringify(input.service)} is not registered (MERGE needs an existing service)`,
        );
      }
      if (!current && this.services.size >= this.options.limits.maxServices) {
        throw new FulcrumError(
          "resource_exhausted",
          `service: ${this.services.size} services registered, the limit max_services`,
        );
      }
      const config =
        requested ?? current?.config ?? resolveServiceConfig(undefined, new Violations(), parseStrategy);
      const plan = planRegister(current, input.service, config, specs, mode, this.options.clock.now());
      const size = plan.next?.backends.length ?? 0;
      if (size > this.options.limits.maxBackendsPerService) {
        throw new FulcrumError(
          "invalid_argument",
          `backends: the service would have ${size} backends, over max_backends_per_service=${this.options.limits.maxBackendsPerService}`,
          {
            violations: [{ field: "backends", description: "over max_backends_per_service" }],
          },
        );
      }
      return plan;
    });
    return { version: this.versionOf(input.service), changed };
  }

  /** Removes backends (or the whole service), at once or by draining them first (R3, R6). */
  async deregister(
    service: string,
    backendIds: readonly string[],
    drain: boolean,
    drainTimeoutMs: number,
  ): Promise<{ version: number; removed: number; draining: number }> {
    const v = new Violations();
    const timeoutMs = v.duration("drain_timeout", drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS);
    v.throwIfAny();
    this.entry(service);
    let removed = 0;
    let draining = 0;
    const deadline = this.options.clock.now() + timeoutMs;
    await this.mutate(service, (current) => {
      const plan =
        current &&
        (drain ? planDrain(current, backendIds, deadline) : planRemove(current, backendIds, "deregistered"));
      if (!plan) throw new FulcrumError("not_found", `service ${JSON.stringify(service)} is not registered`);
      removed = drain ? 0 : backendIds.length === 0 ? (current?.backends.length ?? 0) : plan.changes.length;
      draining = drain ? plan.changes.length : 0;
      return plan;
    });
    if (drain)
      for (const id of this.services.get(service)?.backends.keys() ?? []) this.finishDrain(service, id);
    return { version: this.versionOf(service), removed, draining };
  }

  /** Removes backends for a reason of the server's own (e.g. critical_too_long); absent ones are a no-op. */
  async removeBackends(service: string, backendIds: readonly string[], reason: string): Promise<void> {
    if (backendIds.length === 0) return;
    await this.mutate(service, (current) =>
      current ? planRemove(current, backendIds, reason) : { changes: [], next: current },
    );
  }

  /**
   * Removes a draining backend once idle or past its deadline; no-op otherwise. Called by
   * Report when a slot is released and by the drain timer; runs in the background.
   */
  finishDrain(service: string, backendId: string): void {
    const { clock, members } = this.options;
    const draining = () => {
      const backend = this.services.get(service)?.backends.get(backendId);
      return backend?.draining ? backend : undefined;
    };
    const pastDeadline = () => clock.now() >= (draining()?.drainDeadline ?? 0);
    const due = () => draining() !== undefined && (!members.busy(service, backendId) || pastDeadline());
    if (!due()) return;
    const done = (async () => {
      // Pinned sessions keep a draining backend until they end or the deadline passes (R6, P5).
      if (!pastDeadline() && (await this.options.drainHold?.(service, backendId))) return;
      await this.mutate(service, (current) =>
        current && due() ? planRemove(current, [backendId], "drained") : { changes: [], next: current },
      );
    })();
    this.background(`finishing the drain of ${backendId}`, done);
  }

  /** Renews leases; returns how many and which listed ids are unknown (R5). */
  async heartbeat(
    service: string,
    backendIds: readonly string[],
  ): Promise<{ renewed: number; unknownIds: string[] }> {
    const entry = this.entry(service);
    const now = this.options.clock.now();
    const unknownIds = backendIds.filter((id) => !entry.backends.has(id));
    const targets =
      backendIds.length === 0
        ? [...entry.backends.values()]
        : backendIds.flatMap((id) => entry.backends.get(id) ?? []);
    const expiries: Record<string, number> = {};
    for (const backend of targets) {
      if (backend.spec.leaseTtlMs <= 0) continue;
      expiries[backend.spec.id] = now + backend.spec.leaseTtlMs;
    }
    extendLeases(entry, expiries);
    const renewed = Object.keys(expiries).length;
    if (renewed > 0) await this.options.log.renew({ service, expiries });
    return { renewed, unknownIds };
  }

  /** Removes every backend whose lease has lapsed (R5); runs in the background. */
  expireLeases(): void {
    const now = this.options.clock.now();
    for (const entry of this.services.values()) {
      const lapsed = (b: MemberBackend) => b.leaseExpiresAt > 0 && b.leaseExpiresAt <= now;
      if (![...entry.backends.values()].some(lapsed)) continue;
      const done = this.mutate(entry.name, (current) => {
        const ids = [...(this.services.get(entry.name)?.backends.values() ?? [])]
          .filter(lapsed)
          .map((b) => b.spec.id);
        return current && ids.length > 0
          ? planRemove(current, ids, "lease_expired")
          : { changes: [], next: current };
      });
      this.background(`expiring leases of ${entry.name}`, done);
    }
  }

  /** Sets a backend's health: SetHealth (H6), or a transition the health policy decided. */
  async setHealth(
    service: string,
    backendId: string,
    next: HealthState,
    reason: string,
  ): Promise<{ version: number; previous: HealthState }> {
    const backend = this.entry(service).backends.get(backendId);
    if (!backend)
      throw new FulcrumError(
        "not_found",
        `backend ${JSON.stringify(backendId)} is not registered in service ${JSON.stringify(service)}`,
      );
    const previous = backend.health;
    await this.mutate(service, (current) =>
      current ? planHealth(current, backendId, next, reason) : { changes: [], next: current },
    );
    return { version: this.versionOf(service), previous };
  }

  /** GetService. */
  describe(service: string): ServiceStatus {
    return statusOf(this.entry(service), this.options.members);
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

  /** The last version of `service`, removed ones included; 0 when never seen. */
  versionOf(service: string): number {
    return this.versions.get(service) ?? 0;
  }

  /** Queues a mutation of `service` behind the ones already running on this replica. */
  private mutate(service: string, plan: (current: StoredService | undefined) => Plan): Promise<boolean> {
    const previous = this.queues.get(service) ?? Promise.resolve();
    const run = previous.then(() => this.mutateNow(service, plan));
    const tail = run.catch(() => {});
    this.queues.set(service, tail);
    void tail.then(() => {
      if (this.queues.get(service) === tail) this.queues.delete(service);
    });
    return run;
  }

  /** Plans against the current state, appends (compare-and-set), applies; re-plans on conflict. Returns whether anything changed. */
  private async mutateNow(
    service: string,
    plan: (current: StoredService | undefined) => Plan,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const known = this.services.get(service);
      const current = known && storedOf(known);
      const planned = plan(current);
      if (planned.changes.length === 0) return false;
      const baseVersion = this.versionOf(service);
      const entry = { service, baseVersion, changes: planned.changes, next: planned.next };
      const appended = await this.options.log.append(entry).catch((cause: unknown) => {
        throw logFailure(service, cause);
      });
      if (appended.ok) {
        if (this.versionOf(service) === baseVersion)
          this.apply({ ...entry, firstVersion: appended.firstVersion });
        return true;
      }
      await this.resync(service);
    }
    throw new FulcrumError(
      "unavailable",
      `service ${JSON.stringify(service)}: concurrent updates kept conflicting; retry`,
    );
  }

  /** Applies an appended entry: state from `next`, then the events with their versions. */
  private apply(entry: AppendedEntry): void {
    const lastVersion = entry.firstVersion + entry.changes.length - 1;
    this.versions.set(entry.service, lastVersion);
    const live = entry.next ? this.install(entry.next, lastVersion) : undefined;
    if (!entry.next) this.uninstall(entry.service);
    entry.changes.forEach((change, i) => {
      this.options.onEvent({
        service: entry.service,
        version: entry.firstVersion + i,
        change: live ? refreshChange(change, live, this.options.members) : change,
      });
    });
  }

  /**
   * Makes the local membership match `stored` (leases only ever move later), starts the drain
   * timer of backends that start draining, then tells the follower.
   */
  private install(stored: StoredService, version: number): Registered {
    const now = this.options.clock.now();
    const previous = this.services.get(stored.name)?.backends;
    const backends = new Map<string, MemberBackend>();
    for (const shared of stored.backends) {
      const known = previous?.get(shared.spec.id);
      const leaseExpiresAt = Math.max(known?.leaseExpiresAt ?? 0, shared.leaseExpiresAt);
      backends.set(shared.spec.id, { ...shared, leaseExpiresAt });
      if (shared.draining && !known?.draining)
        this.options.clock.setTimeout(
          () => this.finishDrain(stored.name, shared.spec.id),
          Math.max(0, shared.drainDeadline - now),
        );
    }
    const entry: Registered = { name: stored.name, config: stored.config, version, backends };
    this.services.set(stored.name, entry);
    this.options.members.installed(memberOf(entry));
    return entry;
  }

  /** Drops a removed service here and in the follower; true when it was known. */
  private uninstall(service: string): boolean {
    this.options.members.removed(service);
    return this.services.delete(service);
  }

  private onRemoteEntry(entry: AppendedEntry): void {
    const local = this.versionOf(entry.service);
    const last = entry.firstVersion + entry.changes.length - 1;
    if (last <= local) return;
    if (entry.firstVersion === local + 1) this.apply(entry);
    else this.background(`resyncing ${entry.service} after a gap`, this.resync(entry.service));
  }

  private onRemoteRenewal(renewal: LeaseRenewal): void {
    const entry = this.services.get(renewal.service);
    if (entry) extendLeases(entry, renewal.expiries);
  }

  /** Reloads one service from the log; when it moved on, installs it and tells watchers with a snapshot. */
  private async resync(service: string): Promise<void> {
    const { stored, version } = await this.options.log.load(service);
    if (version < this.versionOf(service)) {
      // The log lost what this replica acknowledged (Redis restarted empty): put it back.
      const local = this.services.get(service);
      if (await this.options.log.restore(service, local && storedOf(local), this.versionOf(service))) return;
      return this.resync(service);
    }
    if (version <= this.versionOf(service)) return;
    this.versions.set(service, version);
    if (!stored) {
      if (this.uninstall(service))
        this.options.onEvent({ service, version, change: { kind: "service_removed" } });
      return;
    }
    const entry = this.install(stored, version);
    this.options.onEvent({
      service,
      version,
      change: { kind: "snapshot", status: statusOf(entry, this.options.members) },
    });
  }

  private async resyncAll(): Promise<void> {
    const all = await this.options.log.loadAll();
    const live = new Set(all.map(({ stored }) => stored.name));
    for (const name of [...this.services.keys()]) if (!live.has(name)) await this.resync(name);
    for (const { stored, version } of all) {
      if (version <= this.versionOf(stored.name)) continue;
      this.versions.set(stored.name, version);
      const entry = this.install(stored, version);
      this.options.onEvent({
        service: stored.name,
        version,
        change: { kind: "snapshot", status: statusOf(entry, this.options.members) },
      });
    }
  }

  private background(what: string, work: Promise<unknown>): void {
    const tracked = work.catch((error: unknown) => this.options.onBackgroundError(what, error));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }
}
