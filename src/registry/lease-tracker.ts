/**
 * Backend leases (R5): a heartbeat moves a lease later here and tells the other replicas
 * (best effort: leases only ever move later, so a renewal heard late never shortens one);
 * a backend whose lease has lapsed is removed through the log like any other change.
 */
import type { MemberBackend } from "../model/membership.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import type { BackgroundWork } from "./background-work.js";
import { planRemove } from "./plan.js";
import { extendLeases } from "./registered.js";
import type { RegistryLog } from "./registry-log.js";
import type { Replicator } from "./replicator.js";

/** Options of a LeaseTracker. */
export interface LeaseTrackerOptions {
  readonly clock: Clock;
  readonly log: RegistryLog;
  readonly replicator: Replicator;
  readonly background: BackgroundWork;
}

/** Renews and expires leases. */
export class LeaseTracker {
  constructor(private readonly options: LeaseTrackerOptions) {}

  /** Renews leases (all of the service's when `backendIds` is empty); returns how many and which listed ids are unknown. */
  async heartbeat(
    service: string,
    backendIds: readonly string[],
  ): Promise<{ renewed: number; unknownIds: string[] }> {
    const entry = this.options.replicator.entry(service);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(service)} is not registered`);
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

  /** Removes every backend whose lease has lapsed; runs in the background. */
  expire(): void {
    const { clock, replicator, background } = this.options;
    const now = clock.now();
    const lapsed = (b: MemberBackend) => b.leaseExpiresAt > 0 && b.leaseExpiresAt <= now;
    for (const entry of replicator.entries()) {
      if (![...entry.backends.values()].some(lapsed)) continue;
      const done = replicator.mutate(entry.name, (current) => {
        const ids = [...(replicator.entry(entry.name)?.backends.values() ?? [])]
          .filter(lapsed)
          .map((b) => b.spec.id);
        return current && ids.length > 0
          ? planRemove(current, ids, "lease_expired")
          : { changes: [], next: current };
      });
      background.run(`expiring leases of ${entry.name}`, done);
    }
  }
}
