/**
 * The sliding window never frees units earlier than a true sliding window does (Q9): an
 * upstream that keeps a log of every admitted call (any `windowMs` of time holds at most
 * `limit` units) admits whatever Fulcrum's bucketed window admits, whatever the times, costs,
 * refunds and bucket counts. So a retry at the time Fulcrum's RetryInfo names is never
 * refused upstream for timing alone.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import {
  stepsMsUntilFits,
  type WindowState,
  windowCharge,
  windowFits,
  windowRefund,
  windowSteps,
  windowUsage,
} from "../../../src/quota/sliding-window.js";

/** The upstream: a log of (admitted at, units), exact. */
class TrueSlidingLog {
  private readonly log: { at: number; units: number; id: number }[] = [];

  constructor(
    private readonly windowMs: number,
    private readonly limit: number,
  ) {}

  usage(now: number): number {
    return this.log.filter((e) => e.at > now - this.windowMs).reduce((sum, e) => sum + e.units, 0);
  }

  admit(now: number, units: number, id: number): boolean {
    if (this.usage(now) + units > this.limit) return false;
    this.log.push({ at: now, units, id });
    return true;
  }

  refund(id: number, units: number): void {
    const entry = this.log.find((e) => e.id === id);
    if (entry) entry.units = Math.max(0, entry.units - units);
  }
}

const step = fc.record({
  advanceMs: fc.integer({ min: 0, max: 2_500 }),
  units: fc.integer({ min: 1, max: 40 }),
  refund: fc.integer({ min: 0, max: 40 }),
});

describe("sliding window against a true sliding log (Q9)", () => {
  test.prop([
    fc.integer({ min: 2, max: 60 }),
    fc.integer({ min: 0, max: 10_000 }),
    fc.array(step, { minLength: 1, maxLength: 80 }),
  ])(
    "Q9: every unit Fulcrum admits, a true sliding window admits at the same moment",
    (buckets, startMs, steps) => {
      const windowMs = 3_000;
      const limit = 100;
      const state: WindowState = new Map();
      const upstream = new TrueSlidingLog(windowMs, limit);
      const admitted = new Map<number, { at: number; units: number }>();
      let now = 1_000_000 + startMs;
      steps.forEach(({ advanceMs, units, refund }, id) => {
        now += advanceMs;
        const usage = windowUsage(state, now, windowMs, buckets);
        if (windowFits(usage, units, limit)) {
          windowCharge(state, now, windowMs, buckets, units);
          expect(upstream.admit(now, units, id)).toBe(true);
          admitted.set(id, { at: now, units });
        } else {
          // The RetryInfo time: the upstream takes the same units then (nothing else arriving).
          const waitMs = stepsMsUntilFits(usage, windowSteps(state, now, windowMs, buckets), limit, units);
          expect(upstream.usage(now + waitMs) + units).toBeLessThanOrEqual(limit);
        }
        // Refund part of the previous admission, as a true-up below its reservation does.
        const earlier = admitted.get(id - 1);
        const back = Math.min(refund, earlier?.units ?? 0);
        if (earlier && back > 0) {
          windowRefund(state, earlier.at, now, windowMs, buckets, back);
          upstream.refund(id - 1, back);
          admitted.set(id - 1, { at: earlier.at, units: earlier.units - back });
        }
      });
    },
  );
});
