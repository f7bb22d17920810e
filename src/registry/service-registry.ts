import { DEFAULT_REGISTER_MODE, type RegisterInput } from "../model/input.js";
import type { RegistryLimits } from "../model/limits.js";
import type { MemberService, MembershipFollower } from "../model/membership.js";
import type { ServiceConfigParser } from "../model/policy-parser.js";
import type { HealthState } from "../model/specs.js";
import type { ServiceStatus } from "../model/status.js";
import { Violations } from "../model/violations.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import { BackgroundWork } from "./background-work.js";
import { DEFAULT_DRAIN_TIMEOUT_MS, DrainTracker } from "./drain-tracker.js";
import type { ServiceEventListener } from "./events.js";
import { LeaseTracker } from "./lease-tracker.js";
import { type HealthSource, planDrain, planHealth, planRegister, planRemove } from "./plan.js";
import { memberOf, type Registered, statusOf } from "./registered.js";
import type { RegistryLog } from "./registry-log.js";
import { Replicator } from "./replicator.js";
import { checkName, resolveBackends } from "./resolve-backends.js";

/** Options of a ServiceRegistry. */
export interface ServiceRegistryOptions {
  readonly clock: Clock;
  readonly limits: RegistryLimits;
  /** Told about every membership change before its events go out (the balancer's service table). */
  readonly members: MembershipFollower;
  /** Parses a requested config, each section by the subsystem that owns it. */
  readonly parseConfig: ServiceConfigParser;
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
 * Membership and versions of every service (behaviour.md R1-R7). A call is checked in full,
 * then planned against the current state and handed to the Replicator, which appends it to
 * the shared log and applies it; drains and leases have trackers of their own.
 */
export class ServiceRegistry {
  private readonly background: BackgroundWork;
  private readonly replicator: Replicator;
  private readonly drains: DrainTracker;
  private readonly leases: LeaseTracker;

  constructor(private readonly options: ServiceRegistryOptions) {
    const { clock, log, members, drainHold } = options;
    const background = new BackgroundWork(options.onBackgroundError);
    // The replicator tells the drain tracker of drains it installs; the tracker ends them through it.
    const replicator = new Replicator({
      clock,
      log,
      members,
      onEvent: options.onEvent,
      background,
      onDrainStarted: (service, backend) => drains.started(service, backend),
    });
    const drains = new DrainTracker({ clock, members, replicator, background, drainHold });
    this.background = background;
    this.replicator = replicator;
    this.drains = drains;
    this.leases = new LeaseTracker({ clock, log, replicator, background });
  }

  /** Loads every service from the log and follows other replicas' changes. */
  start(): Promise<void> {
    return this.replicator.start();
  }

  /** Resolves once background work started so far (drains, lease expiry, resyncs) has finished. */
  settled(): Promise<void> {
    return this.background.settled();
  }

  /** Stops following the log. */
  stop(): void {
    this.replicator.stop();
  }

  /** The membership of `name`, or undefined. */
  find(name: string): MemberService | undefined {
    const entry = this.replicator.entry(name);
    return entry && memberOf(entry);
  }

  /** The membership of `name`, or NOT_FOUND naming it. */
  get(name: string): MemberService {
    return memberOf(this.entry(name));
  }

  private entry(name: string): Registered {
    const entry = this.replicator.entry(name);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(name)} is not registered`);
    return entry;
  }

  /** Register (REPLACE or MERGE). Returns the version after the call and whether it changed anything. */
  async register(input: RegisterInput): Promise<{ version: number; changed: boolean }> {
    const { limits, parseConfig, clock } = this.options;
    const v = new Violations();
    checkName("service", input.service, limits, v);
    const specs = resolveBackends(input.backends, limits, v);
    const requested = input.config ? parseConfig(input.config, v) : undefined;
    v.throwIfAny();
    const mode = input.mode ?? DEFAULT_REGISTER_MODE;
    const changed = await this.replicator.mutate(input.service, (current) => {
      if (!current && mode === "merge") {
        throw new FulcrumError(
          "not_found",
          `service ${JSON.stringify(input.service)} is not registered (MERGE needs an existing service)`,
        );
      }
      if (!current && this.replicator.size >= limits.maxServices) {
        throw new FulcrumError(
          "resource_exhausted",
          `service: ${this.replicator.size} services registered, the limit max_services`,
        );
      }
      const config = requested ?? current?.config ?? parseConfig(undefined, new Violations());
      const plan = planRegister(current, input.service, config, specs, mode, clock.now());
      const size = plan.next?.backends.length ?? 0;
      if (size > limits.maxBackendsPerService) {
        throw new FulcrumError(
          "invalid_argument",
          `backends: the service would have ${size} backends, over max_backends_per_service=${limits.maxBackendsPerService}`,
          { violations: [{ field: "backends", description: "over max_backends_per_service" }] },
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
    await this.replicator.mutate(service, (current) => {
      const plan =
        current &&
        (drain ? planDrain(current, backendIds, deadline) : planRemove(current, backendIds, "deregistered"));
      if (!plan) throw new FulcrumError("not_found", `service ${JSON.stringify(service)} is not registered`);
      removed = drain ? 0 : backendIds.length === 0 ? (current?.backends.length ?? 0) : plan.changes.length;
      draining = drain ? plan.changes.length : 0;
      return plan;
    });
    if (drain)
      for (const id of this.replicator.entry(service)?.backends.keys() ?? []) this.finishDrain(service, id);
    return { version: this.versionOf(service), removed, draining };
  }

  /** Removes backends for a reason of the server's own (e.g. critical_too_long); absent ones are a no-op. */
  async removeBackends(service: string, backendIds: readonly string[], reason: string): Promise<void> {
    if (backendIds.length === 0) return;
    await this.replicator.mutate(service, (current) =>
      current ? planRemove(current, backendIds, reason) : { changes: [], next: current },
    );
  }

  /**
   * Removes a draining backend once idle or past its deadline; no-op otherwise. Called when a
   * call or a pin releases the backend; runs in the background.
   */
  finishDrain(service: string, backendId: string): void {
    this.drains.finish(service, backendId);
  }

  /** Renews leases; returns how many and which listed ids are unknown (R5). */
  heartbeat(
    service: string,
    backendIds: readonly string[],
  ): Promise<{ renewed: number; unknownIds: string[] }> {
    return this.leases.heartbeat(service, backendIds);
  }

  /** Removes every backend whose lease has lapsed (R5); runs in the background. */
  expireLeases(): void {
    this.leases.expire();
  }

  /** Sets a backend's health: SetHealth (H6, `operator`: maintenance, O10), or a transition the health policy decided. */
  async setHealth(
    service: string,
    backendId: string,
    next: HealthState,
    reason: string,
    source: HealthSource,
  ): Promise<{ version: number; previous: HealthState }> {
    const backend = this.entry(service).backends.get(backendId);
    if (!backend)
      throw new FulcrumError(
        "not_found",
        `backend ${JSON.stringify(backendId)} is not registered in service ${JSON.stringify(service)}`,
      );
    const previous = backend.health;
    await this.replicator.mutate(service, (current) =>
      current ? planHealth(current, backendId, next, reason, source) : { changes: [], next: current },
    );
    return { version: this.versionOf(service), previous };
  }

  /** GetService. */
  describe(service: string): ServiceStatus {
    return statusOf(this.entry(service), this.options.members);
  }

  /** ListServices, sorted by name. */
  list(prefix: string): ServiceSummary[] {
    return [...this.replicator.entries()]
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
    return [...this.replicator.entries()].map((entry) => entry.name);
  }

  /** The last version of `service`, removed ones included; 0 when never seen. */
  versionOf(service: string): number {
    return this.replicator.versionOf(service);
  }
}
