import type { ServiceConfig } from "../model/specs.js";
import type { ServiceStatus } from "../model/status.js";
import { type BackendState, describeBackend } from "./backend-state.js";
import { buildSnapshot, disposeSnapshot, type Snapshot } from "./snapshot.js";
import type { PickerDeps } from "./strategy.js";

/**
 * One service as this replica's balancer sees it: the registry's membership at `version`,
 * each member's runtime state (in flight, latency, ejection, counters), and the snapshot
 * Select reads. Rebuilt by the ServiceTable when membership changes or a member's
 * eligibility does (ejection); never per request.
 */
export class LiveService {
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

  /** Rebuilds the snapshot after membership, health, drain, ejection or weight changes. */
  rebuild(): void {
    const old = this.snapshot;
    this.snapshot = this.build();
    disposeSnapshot(old);
  }

  /** The service was removed: its pickers stop following its backends. */
  dispose(): void {
    disposeSnapshot(this.snapshot);
  }

  /** GetService's and Watch's view (quota and pins are filled in above the core). */
  status(now: number): ServiceStatus {
    return {
      name: this.name,
      config: this.config,
      version: this.version,
      backends: [...this.backends.values()].map((state) => describeBackend(state, now)),
    };
  }

  private build(): Snapshot {
    return buildSnapshot([...this.backends.values()], this.config, this.version, this.deps);
  }
}
