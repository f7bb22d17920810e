import type { BackendState } from "../balancer/backend-state.js";
import { buildSnapshot, type Snapshot } from "../balancer/snapshot.js";
import type { PickerDeps } from "../balancer/strategy.js";
import type { ServiceConfig } from "./model.js";
import type { StoredService } from "./registry-log.js";
import { describeBackend, type ServiceStatus } from "./status.js";

/** One registered service: config, version, backends in registration order, and its snapshot. */
export class ServiceEntry {
  version = 0;
  snapshot: Snapshot;

  constructor(
    readonly name: string,
    public config: ServiceConfig,
    public backends: Map<string, BackendState>,
    private readonly deps: PickerDeps,
  ) {
    this.snapshot = this.build();
  }

  /** Rebuilds the snapshot after membership, health, drain or weight changes. */
  rebuild(): void {
    this.snapshot = this.build();
  }

  /** GetService's view. */
  status(now: number): ServiceStatus {
    return {
      name: this.name,
      config: this.config,
      version: this.version,
      backends: [...this.backends.values()].map((state) => describeBackend(state, now)),
    };
  }

  /** The part every replica shares. */
  stored(): StoredService {
    return {
      name: this.name,
      config: this.config,
      backends: [...this.backends.values()].map((b) => ({
        spec: b.spec,
        health: b.health,
        draining: b.draining,
        drainDeadline: b.drainDeadline,
        leaseExpiresAt: b.leaseExpiresAt,
      })),
    };
  }

  private build(): Snapshot {
    return buildSnapshot([...this.backends.values()], this.config, this.version, this.deps);
  }
}
