import type { MemberBackend, MemberService, MembershipFollower } from "../model/membership.js";
import type { BackendStatus, ServiceStatus } from "../model/status.js";
import { type BackendState, describeBackend, newBackendState } from "./backend-state.js";
import { LiveService } from "./live-service.js";
import type { PickerDeps } from "./strategy.js";

/** One outlier ejection (H4): the backend leaves the pick until `until` (epoch ms). */
export interface Ejection {
  readonly backendId: string;
  readonly until: number;
}

/**
 * Every service this replica balances, with each member's runtime state. It follows the
 * registry's membership (MembershipFollower) and is the one place runtime state changes
 * eligibility: the registry's changes arrive through `installed`, health's writes through
 * `setCounters` and `setEjections`; each rebuilds the snapshot when eligibility moved.
 */
export class ServiceTable implements MembershipFollower {
  private readonly services = new Map<string, LiveService>();

  constructor(private readonly deps: PickerDeps) {}

  /** The service `name`, or undefined. The hot path reads `find(name).snapshot`. */
  find(name: string): LiveService | undefined {
    return this.services.get(name);
  }

  /** Every service, in no particular order. */
  all(): IterableIterator<LiveService> {
    return this.services.values();
  }

  /** GetService's and Watch's view of `name`, or undefined when it is not registered. */
  status(name: string): ServiceStatus | undefined {
    return this.services.get(name)?.status(this.deps.clock.now());
  }

  /** Follows a membership change, keeping the runtime state of backends that stay. */
  installed(member: MemberService): void {
    const now = this.deps.clock.now();
    const live =
      this.services.get(member.name) ?? new LiveService(member.name, member.config, new Map(), this.deps);
    const backends = new Map<string, BackendState>();
    for (const shared of member.backends) {
      const state = live.backends.get(shared.spec.id) ?? newBackendState(shared.spec, shared.health, now);
      if (shared.health === "healthy" && state.health !== "healthy") {
        // Recovered: slow start begins again, counters restart (S14, H1).
        state.activeSince = now;
        state.consecutiveFailures = 0;
        state.consecutiveSuccesses = 0;
      }
      state.spec = shared.spec;
      state.health = shared.health;
      state.draining = shared.draining;
      state.drainDeadline = shared.drainDeadline;
      state.maintenance = shared.maintenance === true;
      backends.set(shared.spec.id, state);
    }
    live.config = member.config;
    live.backends = backends;
    live.version = member.version;
    live.rebuild();
    this.services.set(member.name, live);
  }

  /** Forgets a removed service. */
  removed(name: string): void {
    this.services.get(name)?.dispose();
    this.services.delete(name);
  }

  /** A member with this replica's runtime view; a member not installed yet shows zero counters. */
  describe(service: string, backend: MemberBackend): BackendStatus {
    const now = this.deps.clock.now();
    const state = this.services.get(service)?.backends.get(backend.spec.id);
    return describeBackend(state ?? newBackendState(backend.spec, backend.health, now), now);
  }

  /** True while this replica has calls in flight to the backend. */
  busy(service: string, backendId: string): boolean {
    return (this.services.get(service)?.backends.get(backendId)?.inFlight ?? 0) > 0;
  }

  /** Health's consecutive counters of a backend (H1), shown by GetService and Watch. */
  setCounters(service: string, backendId: string, failures: number, successes: number): void {
    const backend = this.services.get(service)?.backends.get(backendId);
    if (!backend) return;
    backend.consecutiveFailures = failures;
    backend.consecutiveSuccesses = successes;
  }

  /** Outlier ejections and returns (H4); the snapshot is rebuilt when any applied. */
  setEjections(service: string, ejected: readonly Ejection[], returned: readonly string[]): void {
    const live = this.services.get(service);
    if (!live) return;
    let changed = false;
    for (const { backendId, until } of ejected) changed = setEjectedUntil(live, backendId, until) || changed;
    for (const backendId of returned) changed = setEjectedUntil(live, backendId, 0) || changed;
    if (changed) live.rebuild();
  }
}

function setEjectedUntil(live: LiveService, backendId: string, until: number): boolean {
  const backend = live.backends.get(backendId);
  if (!backend) return false;
  backend.ejectedUntil = until;
  return true;
}
