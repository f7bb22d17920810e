import { describe, expect, it } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { FIXED_WINDOW_BUCKETS, windowBuckets } from "../../../src/quota/fixed-window.js";
import { windowCharge, windowFits, windowUsage } from "../../../src/quota/sliding-window.js";
import { DEFAULT_QUOTA_BUCKETS } from "../../../src/registry/defaults.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

const spec = (algorithm: QuotaLimitSpec["algorithm"], buckets = 6): QuotaLimitSpec => ({
  dimension: "requests",
  limit: 3,
  windowMs: 1_000,
  algorithm,
  buckets,
});

describe("fixed window (Q1, Q2)", () => {
  it("Q1: a fixed window is one bucket; a sliding window keeps its own count (default 6)", () => {
    expect(windowBuckets(spec("fixed_window", 6))).toBe(FIXED_WINDOW_BUCKETS);
    expect(windowBuckets(spec("sliding_window", 4))).toBe(4);
    expect(windowBuckets(spec("sliding_window", 0))).toBe(DEFAULT_QUOTA_BUCKETS);
  });

  it("Q2: everything comes back at once at the next window edge", () => {
    const clock = new ManualClock(5_000_000_000_250);
    const state = new Map<number, number>();
    const take = () => {
      const ok = windowFits(windowUsage(state, clock.now(), 1_000, 1), 1, 3);
      if (ok) windowCharge(state, clock.now(), 1_000, 1, 1);
      return ok;
    };
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
    clock.advance(749);
    expect(take()).toBe(false);
    clock.advance(1); // the next window
    expect(windowUsage(state, clock.now(), 1_000, 1)).toBe(0);
    expect([take(), take(), take(), take()]).toEqual([true, true, true, false]);
  });
});
