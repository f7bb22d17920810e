/**
 * Headroom crossings for Watch (issue 6): a backend's remaining share of a dimension
 * (remaining / limit) moving across one of the service's `watch_thresholds` (default 0.1 and
 * 0), downwards ("below") or back up. Pure: two statuses in, crossings out.
 */
import type { QuotaStatus } from "./quota-status.js";

/** One threshold crossed by one dimension. */
export interface HeadroomCrossing {
  readonly dimension: string;
  readonly remainingRatio: number;
  readonly threshold: number;
  /** True when the ratio fell to or below the threshold, false when it rose above it. */
  readonly below: boolean;
}

function ratioOf(status: QuotaStatus | undefined, dimension: string): number | undefined {
  const d = status?.dimensions[dimension];
  if (!d || !(d.limit > 0)) return undefined;
  return status!.markedForMs > 0 ? 0 : d.remaining / d.limit;
}

/** The crossings from `before` (undefined: untouched, every ratio 1) to `after`. */
export function headroomCrossings(
  before: QuotaStatus | undefined,
  after: QuotaStatus,
  thresholds: readonly number[],
): HeadroomCrossing[] {
  const crossings: HeadroomCrossing[] = [];
  for (const dimension of Object.keys(after.dimensions)) {
    const was = ratioOf(before, dimension) ?? 1;
    const now = ratioOf(after, dimension);
    if (now === undefined) continue;
    for (const threshold of thresholds) {
      if (was > threshold && now <= threshold)
        crossings.push({ dimension, remainingRatio: now, threshold, below: true });
      else if (was <= threshold && now > threshold)
        crossings.push({ dimension, remainingRatio: now, threshold, below: false });
    }
  }
  return crossings;
}
