/**
 * The per-service holder of outlier counters (behaviour.md H4): Report outcomes are counted
 * here between sweeps, and `sweep` runs the pure algorithm of outlier.ts over them. It keeps
 * no timer: the owner calls `sweep` every `policy.intervalMs` on its Clock (e.g. with
 * shared/clock.ts `every`) and applies the ejections it returns.
 */
import type { CallResult } from "../balancer/outcome.js";
import type { OutlierPolicy } from "../model/specs.js";
import type { Random } from "../shared/random.js";
import {
  ejectedUntil,
  FRESH_OUTLIER_RECORD,
  type OutlierRecord,
  type OutlierSweep,
  sweepOutliers,
} from "./outlier.js";
import { signalOfResult } from "./policy.js";

/** Outlier counters and ejections of the backends of one service. */
export class OutlierTracker {
  private records = new Map<string, OutlierRecord>();

  /** Starts with `backendIds` (registration order), none ejected. */
  constructor(backendIds: Iterable<string> = []) {
    this.sync(backendIds);
  }

  /**
   * Counts one call result (H3 mapping: rate_limited and not_found are not counted). A backend
   * not known yet is added.
   */
  record(backendId: string, result: CallResult): void {
    const signal = signalOfResult(result);
    if (signal === undefined) return;
    const current = this.records.get(backendId) ?? FRESH_OUTLIER_RECORD;
    this.records.set(
      backendId,
      signal === "success"
        ? { ...current, successes: current.successes + 1 }
        : { ...current, failures: current.failures + 1 },
    );
  }

  /**
   * Follows membership: backends that stay keep their counters and ejection, new ones start
   * fresh, missing ones are dropped; the order becomes `backendIds` order.
   */
  sync(backendIds: Iterable<string>): void {
    const next = new Map<string, OutlierRecord>();
    for (const id of backendIds) next.set(id, this.records.get(id) ?? FRESH_OUTLIER_RECORD);
    this.records = next;
  }

  /** Runs one sweep at `now` (see sweepOutliers), keeps its records and returns its decision. */
  sweep(policy: OutlierPolicy, now: number, random: Random): OutlierSweep {
    const result = sweepOutliers(this.records, policy, now, random);
    this.records = new Map(result.records);
    return result;
  }

  /** Whether the sweeps have `backendId` ejected now (false for an unknown backend). */
  isEjected(backendId: string): boolean {
    return (this.records.get(backendId)?.ejectedAt ?? 0) > 0;
  }

  /** Epoch ms until which `backendId` stays ejected; 0 when it is not. */
  ejectedUntil(backendId: string, policy: Pick<OutlierPolicy, "baseEjectionTimeMs" | "maxEjectionTimeMs">) {
    const record = this.records.get(backendId);
    return record ? ejectedUntil(record, policy) : 0;
  }

  /** The current record of `backendId`, if known (for GetService and tests). */
  get(backendId: string): OutlierRecord | undefined {
    return this.records.get(backendId);
  }
}
