/**
 * Fixed window (behaviour.md Q1).
 *
 * What: one counter per window [k * windowMs, (k + 1) * windowMs); usage is what the
 * current window holds, and it all comes back at once when the next window starts.
 *
 * Why: the cheapest algorithm (one number per dimension) and the one most upstream APIs
 * document ("1,000 requests per calendar minute"), so matching it makes the local view agree
 * with the upstream's. Its known weakness: a burst at the end of one window and another at
 * the start of the next pass 2 x limit within `windowMs`; use sliding_window to shrink that.
 *
 * Reference: the classic fixed-window counter (envoyproxy/ratelimit, rate-limiter-flexible's
 * RateLimiterRedis). It is exactly the sliding window of sliding-window.ts with one bucket,
 * so the math (and its Lua twin) is shared; this file fixes the bucket count.
 */

import type { QuotaLimitSpec } from "../model/specs.js";
import { DEFAULT_QUOTA_BUCKETS } from "../registry/defaults.js";

/** A fixed window is a sliding window of one bucket. */
export const FIXED_WINDOW_BUCKETS = 1;

/**
 * The bucket count the window math uses for `spec`: 1 for fixed_window, the spec's own
 * count for sliding_window (DEFAULT_QUOTA_BUCKETS when it is not a whole number >= 1).
 */
export function windowBuckets(spec: QuotaLimitSpec): number {
  if (spec.algorithm === "fixed_window") return FIXED_WINDOW_BUCKETS;
  return Number.isInteger(spec.buckets) && spec.buckets >= 1 ? spec.buckets : DEFAULT_QUOTA_BUCKETS;
}
