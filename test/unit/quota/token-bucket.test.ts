import { describe, expect, it } from "vitest";
import {
  bucketCharge,
  bucketFits,
  bucketRaiseTo,
  bucketRecovery,
  bucketRefund,
  bucketTtlMs,
  bucketUsage,
  drainMsUntilFits,
  emptyBucket,
  levelAt,
} from "../../../src/quota/token-bucket.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

const W = 60_000;
const LIMIT = 600; // 10 per second

function limiter(clock: ManualClock) {
  const state = emptyBucket();
  return {
    state,
    usage: () => bucketUsage(state, clock.now(), W, LIMIT),
    take(units: number): boolean {
      if (!bucketFits(levelAt(state, clock.now(), LIMIT), units, W, LIMIT)) return false;
      bucketCharge(state, clock.now(), W, LIMIT, units);
      return true;
    },
    retryAfter: (units: number) =>
      drainMsUntilFits(bucketRecovery(state, clock.now(), W, LIMIT), LIMIT, units),
  };
}

describe("token bucket / GCRA (Q1, Q2)", () => {
  it("Q1: bursts up to the limit, then admits at limit per window", () => {
    const clock = new ManualClock();
    const l = limiter(clock);
    expect(l.take(LIMIT)).toBe(true);
    expect(l.take(1)).toBe(false);
    expect(l.retryAfter(1)).toBe(100); // one unit drains every 60000 / 600 ms
    clock.advance(99);
    expect(l.take(1)).toBe(false);
    clock.advance(1);
    expect(l.take(1)).toBe(true);
    expect(l.take(1)).toBe(false);
  });

  it("Q2: remaining recovers continuously and exactly", () => {
    const clock = new ManualClock();
    const l = limiter(clock);
    l.take(300);
    clock.advance(15_000); // 150 drained
    expect(l.usage()).toBe(150);
    clock.advance(15_000);
    expect(l.usage()).toBe(0);
    clock.advance(15_000);
    expect(l.usage()).toBe(0); // never below 0: no credit banked while idle
  });

  it("Q3: a true-up charge past the limit is debt that drains; a refund never makes credit", () => {
    const clock = new ManualClock();
    const l = limiter(clock);
    l.take(LIMIT);
    bucketCharge(l.state, clock.now(), W, LIMIT, 300);
    expect(l.usage()).toBe(900);
    expect(l.retryAfter(1)).toBe(30_100);
    expect(bucketTtlMs(l.state, clock.now(), LIMIT)).toBe(90_000);
    bucketRefund(l.state, clock.now(), W, LIMIT, 5_000);
    expect(l.usage()).toBe(0);
  });

  it("Q4: raising usage never lowers it", () => {
    const clock = new ManualClock();
    const l = limiter(clock);
    l.take(100);
    bucketRaiseTo(l.state, clock.now(), W, LIMIT, 50);
    expect(l.usage()).toBe(100);
    bucketRaiseTo(l.state, clock.now(), W, LIMIT, 400);
    expect(l.usage()).toBe(400);
  });

  it("Q1: a state written by a clock ahead does not drain before its own time", () => {
    const state = { level: 600 * W, at: 10_000 };
    expect(levelAt(state, 5_000, LIMIT)).toBe(600 * W);
    expect(drainMsUntilFits(bucketRecovery(state, 5_000, W, LIMIT), LIMIT, 1)).toBe(5_100);
  });

  it("Q1: a cost above the whole limit never fits", () => {
    expect(drainMsUntilFits({ scaledLevel: 0, windowMs: W, startsInMs: 0 }, LIMIT, LIMIT + 1)).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it("Q2: retry-after is the first millisecond at which the cost fits, for awkward rates", () => {
    for (const [limit, windowMs] of [
      [7, 1_000],
      [3, 10],
      [1_000, 7],
      [13, 60_000],
    ] as const) {
      const clock = new ManualClock(1_700_000_000_123);
      const state = emptyBucket();
      bucketCharge(state, clock.now(), windowMs, limit, limit);
      const wait = drainMsUntilFits(bucketRecovery(state, clock.now(), windowMs, limit), limit, 2);
      expect(bucketFits(levelAt(state, clock.now() + wait, limit), 2, windowMs, limit)).toBe(true);
      expect(bucketFits(levelAt(state, clock.now() + wait - 1, limit), 2, windowMs, limit)).toBe(false);
    }
  });
});
