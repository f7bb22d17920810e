/**
 * The seam between the registry (who is a member, shared by every replica) and the balancer
 * (what this replica knows about each member at run time). The registry owns membership and
 * tells a MembershipFollower about every change before it emits the change's events; the
 * follower keeps per-backend runtime state and the snapshots Select reads (the grpc-js
 * `updateAddressList` -> new picker idea).
 */

import type { BackendSpec, HealthState, ServiceConfig } from "./specs.js";
import type { BackendStatus } from "./status.js";

/** A backend as every replica shares it: the registration and the state that must agree everywhere. */
export interface MemberBackend {
  readonly spec: BackendSpec;
  readonly health: HealthState;
  readonly draining: boolean;
  /** Epoch ms; 0 when not draining. */
  readonly drainDeadline: number;
  /** Epoch ms; 0 when the backend has no lease. */
  readonly leaseExpiresAt: number;
  /**
   * True while an operator's UNHEALTHY (SetHealth) holds the backend out of every selection,
   * probe selections included, until SetHealth HEALTHY (behaviour.md O10). Absent in entries
   * stored before the flag existed: false.
   */
  readonly maintenance?: boolean;
}

/** One service's membership at one version. */
export interface MemberService {
  readonly name: string;
  readonly config: ServiceConfig;
  readonly version: number;
  /** In registration order. */
  readonly backends: readonly MemberBackend[];
}

/** What the registry calls on every membership change; implemented by the balancer's service table. */
export interface MembershipFollower {
  /** `service` now has this membership; called before the events of the change go out. */
  installed(service: MemberService): void;
  /** `service` is gone. */
  removed(service: string): void;
  /** A member as Watch and GetService show it: the shared part plus this replica's runtime view. */
  describe(service: string, backend: MemberBackend): BackendStatus;
  /** True while this replica has calls in flight to the backend (a draining backend waits for them, R6). */
  busy(service: string, backendId: string): boolean;
}
