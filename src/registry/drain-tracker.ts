/**
 * Draining backends (R3, R6): a draining backend is removed once it is idle, or once its
 * deadline passes, whichever comes first. Pinned sessions hold it until they end or the
 * deadline passes (P5). Completion is checked when a call or a pin releases the backend and
 * by one timer at the deadline.
 */
import type { MemberBackend, MembershipFollower } from "../model/membership.js";
import type { Clock } from "../shared/clock.js";
import type { BackgroundWork } from "./background-work.js";
import { planRemove } from "./plan.js";
import type { Replicator } from "./replicator.js";

/** How long a drain waits for in-flight calls when the request names no timeout. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** Options of a DrainTracker. */
export interface DrainTrackerOptions {
  readonly clock: Clock;
  /** Says whether calls are still in flight on a backend. */
  readonly members: MembershipFollower;
  readonly replicator: Replicator;
  readonly background: BackgroundWork;
  /** True while something other than in-flight calls holds a draining backend (pinned sessions). */
  readonly drainHold?: (service: string, backendId: string) => Promise<boolean>;
}

/** Ends drains. */
export class DrainTracker {
  constructor(private readonly options: DrainTrackerOptions) {}

  /** A backend started draining: check again at its deadline. */
  started(service: string, backend: MemberBackend): void {
    const { clock } = this.options;
    clock.setTimeout(
      () => this.finish(service, backend.spec.id),
      Math.max(0, backend.drainDeadline - clock.now()),
    );
  }

  /** Removes a draining backend once idle or past its deadline; no-op otherwise. Runs in the background. */
  finish(service: string, backendId: string): void {
    const { clock, members, replicator } = this.options;
    const draining = () => {
      const backend = replicator.entry(service)?.backends.get(backendId);
      return backend?.draining ? backend : undefined;
    };
    const pastDeadline = () => clock.now() >= (draining()?.drainDeadline ?? 0);
    const due = () => draining() !== undefined && (!members.busy(service, backendId) || pastDeadline());
    if (!due()) return;
    const done = (async () => {
      if (!pastDeadline() && (await this.options.drainHold?.(service, backendId))) return;
      await replicator.mutate(service, (current) =>
        current && due() ? planRemove(current, [backendId], "drained") : { changes: [], next: current },
      );
    })();
    this.options.background.run(`finishing the drain of ${backendId}`, done);
  }
}
