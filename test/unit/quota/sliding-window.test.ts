import { describe, expect, it } from "vitest";
import {
  bucketExpiresAt,
  bucketIndex,
  stepsMsUntilFits,
  type WindowState,
  windowCharge,
  windowFits,
  windowPrune,
  windowRefund,
  windowSteps,
  windowTtlMs,
  windowUsage,
} from "../../../src/quota/sliding-window.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

const W = 60_000;
const B = 6;
const LIMIT = 10;

/** A window limiter driven by a ManualClock, as the limiters drive it. */
function limiter(clock: ManualClock) {
  const state: WindowState = new Map();
  return {
    state,
    usage: () => windowUsage(state, clock.now(), W, B),
    remaining: () => Math.max(0, LIMIT - windowUsage(state, clock.now(), W, B)),
    take(units: number): boolean {
      if (!windowFits(windowUsage(state, clock.now(), W, B), units, LIMIT)) return false;
      windowCharge(state, clock.now(), W, B, units);
      return true;
    },
    retryAfter: (units: number) =>
      stepsMsUntilFits(
        windowUsage(state, clock.now(), W, B),
        windowSteps(state, clock.now(), W, B),
        LIMIT,
        units,
      ),
  };
}

describe("sliding window (Q1, Q2)", () => {
  it("Q1: a window of 60 s in 6 buckets of 10 s; bucket i leaves at (i + 6) x 10 s", () => {
    expect(bucketIndex(0, W, B)).toBe(0);
    expect(bucketIndex(9_999, W, B)).toBe(0);
    expect(bucketIndex(10_000, W, B)).toBe(1);
    expect(bucketExpiresAt(0, W, B)).toBe(60_000);
    expect(bucketIndex(60_000, W, B) - B).toBe(0);
  });

  it("Q1 Q2: admits up to the limit, then refuses; remaining never below 0", () => {
    const clock = new ManualClock(1_000_000_020_000);
    const l = limiter(clock);
    for (let i = 0; i < LIMIT; i++) expect(l.take(1)).toBe(true);
    expect(l.remaining()).toBe(0);
    expect(l.take(1)).toBe(false);
    windowCharge(l.state, clock.now(), W, B, 5); // a true-up charge past the limit
    expect(l.usage()).toBe(15);
    expect(l.remaining()).toBe(0);
  });

  it("Q2: remaining recovers bucket by bucket as buckets leave the window", () => {
    const start = 1_000_000_020_000; // the start of a bucket
    const clock = new ManualClock(start);
    const l = limiter(clock);
    l.take(4); // bucket k
    clock.advance(10_000);
    l.take(3); // bucket k + 1
    clock.advance(10_000);
    l.take(3); // bucket k + 2
    expect(l.remaining()).toBe(0);
    // Bucket k's units leave a whole window after the end of bucket k: 70 s after start.
    expect(l.retryAfter(1)).toBe(50_000);
    clock.advance(49_999);
    expect(l.remaining()).toBe(0);
    clock.advance(1);
    expect(l.remaining()).toBe(4);
    expect(l.retryAfter(5)).toBe(10_000);
    clock.advance(10_000);
    expect(l.remaining()).toBe(7);
    clock.advance(10_000);
    expect(l.remaining()).toBe(10);
    expect(l.state.size).toBe(3); // stale buckets linger until a write prunes them
    windowPrune(l.state, clock.now(), W, B);
    expect(l.state.size).toBe(0);
  });

  it("Q2: steps list each live bucket oldest first with when it leaves", () => {
    const clock = new ManualClock(1_000_000_020_000);
    const l = limiter(clock);
    l.take(2);
    clock.advance(25_000);
    l.take(1);
    expect(windowSteps(l.state, clock.now(), W, B)).toEqual([
      { inMs: 45_000, units: 2 },
      { inMs: 65_000, units: 1 },
    ]);
    expect(windowTtlMs(l.state, clock.now(), W, B)).toBe(65_000);
  });

  it("Q3: a refund comes off the bucket that was charged, and is moot once it left the window", () => {
    const clock = new ManualClock(1_000_000_020_000);
    const l = limiter(clock);
    const chargedAt = clock.now();
    l.take(6);
    clock.advance(30_000);
    windowRefund(l.state, chargedAt, clock.now(), W, B, 4);
    expect(l.usage()).toBe(2);
    clock.advance(30_000); // the charged bucket has left
    windowRefund(l.state, chargedAt, clock.now(), W, B, 2);
    expect(l.usage()).toBe(0);
    expect(l.state.size).toBe(0);
  });

  it("Q2: a refund never takes a bucket below 0", () => {
    const clock = new ManualClock(1_000_000_020_000);
    const l = limiter(clock);
    l.take(2);
    windowRefund(l.state, clock.now(), clock.now(), W, B, 5);
    expect(l.usage()).toBe(0);
  });

  it("Q1: a cost above the whole limit never fits", () => {
    expect(stepsMsUntilFits(0, [], LIMIT, LIMIT + 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it("Q1: windows that do not divide into whole-ms buckets still tile time", () => {
    // 1000 ms in 6 buckets: bucket edges at 166.67, 333.33...; each ms belongs to exactly one bucket.
    let previous = bucketIndex(0, 1_000, 6);
    for (let t = 1; t <= 3_000; t++) {
      const index = bucketIndex(t, 1_000, 6);
      expect(index - previous).toBeLessThanOrEqual(1);
      if (index !== previous) expect(bucketExpiresAt(index - 6, 1_000, 6)).toBe(t);
      previous = index;
    }
  });
});
