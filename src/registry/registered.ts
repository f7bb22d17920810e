/**
 * One registered service as the registry keeps it, and the pure views of it the registry
 * hands out: membership for the follower, the shared part for the log, statuses for Watch and
 * GetService (the follower adds this replica's runtime view of each member).
 */
import type { MemberBackend, MemberService, MembershipFollower } from "../model/membership.js";
import type { ServiceConfig } from "../model/specs.js";
import type { ServiceStatus } from "../model/status.js";
import type { ServiceChange } from "./events.js";
import type { StoredService } from "./registry-log.js";

/** One registered service: members in registration order. */
export interface Registered {
  readonly name: string;
  config: ServiceConfig;
  version: number;
  backends: Map<string, MemberBackend>;
}

/** GetService's and Watch's view of `entry`. */
export function statusOf(entry: Registered, members: MembershipFollower): ServiceStatus {
  return {
    name: entry.name,
    config: entry.config,
    version: entry.version,
    backends: [...entry.backends.values()].map((backend) => members.describe(entry.name, backend)),
  };
}

/** Events carry the live view of what they describe, as the replica applying them sees it. */
export function refreshChange(
  change: ServiceChange,
  entry: Registered,
  members: MembershipFollower,
): ServiceChange {
  switch (change.kind) {
    case "snapshot":
      return { kind: "snapshot", status: statusOf(entry, members) };
    case "backend_added":
    case "backend_updated": {
      const member = entry.backends.get(change.backend.spec.id);
      return member ? { kind: change.kind, backend: members.describe(entry.name, member) } : change;
    }
    default:
      return change;
  }
}

/** One service's membership as the follower and `find` see it. */
export function memberOf(entry: Registered): MemberService {
  return {
    name: entry.name,
    config: entry.config,
    version: entry.version,
    backends: [...entry.backends.values()],
  };
}

/** The part every replica shares. */
export function storedOf(entry: Registered): StoredService {
  return { name: entry.name, config: entry.config, backends: [...entry.backends.values()] };
}

/** Leases only ever move later: a renewal heard late never shortens one. */
export function extendLeases(entry: Registered, expiries: Readonly<Record<string, number>>): void {
  for (const [id, expiresAt] of Object.entries(expiries)) {
    const backend = entry.backends.get(id);
    if (backend && expiresAt > backend.leaseExpiresAt)
      entry.backends.set(id, { ...backend, leaseExpiresAt: expiresAt });
  }
}
