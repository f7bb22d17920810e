import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { remainingRatio } from "../../../src/quota/quota-status.js";
import { MemoryQuotaLimiter } from "../../../src/store/memory/memory-quota-limiter.js";
import { checkAgainstModel, SCENARIO_START_MS, scenarioArb } from "./quota-scenarios.js";

let seq = 0;

describe("quota limiter against the reference model (Q1, Q2, Q3, Q4, Q5, Q7, Q8, Q10)", () => {
  test.prop([scenarioArb(50)], { numRuns: 300 })(
    "Q1 Q2 Q3 Q4 Q7 Q8 Q10: random reserve / true-up / release / mark / correct / time give the model's decisions, retry-afters and usage",
    async (scenario) => {
      await checkAgainstModel(new MemoryQuotaLimiter(), scenario, `b${++seq}`);
    },
  );

  const specArb = fc.record({
    dimension: fc.constant("requests"),
    limit: fc.integer({ min: 1, max: 12 }),
    windowMs: fc.constantFrom(100, 999, 1_000),
    algorithm: fc.constantFrom("sliding_window" as const, "fixed_window" as const),
    buckets: fc.integer({ min: 1, max: 6 }),
  });

  test.prop([
    specArb,
    fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 1, max: 4 })), { maxLength: 200 }),
  ])(
    "Q6 Q2: enforced reserves never put more than the limit into any `buckets` consecutive buckets",
    async (spec: QuotaLimitSpec, steps) => {
      const limiter = new MemoryQuotaLimiter();
      const key = { service: "s", backendId: `w${++seq}` };
      const admitted: { at: number; units: number }[] = [];
      let now = SCENARIO_START_MS;
      for (const [advance, units] of steps) {
        now += advance;
        const r = await limiter.reserve(key, [spec], { requests: units }, now);
        if (r.ok) admitted.push({ at: now, units });
        const ratio = remainingRatio(r.status);
        expect(ratio).toBeGreaterThanOrEqual(0);
        expect(ratio).toBeLessThanOrEqual(1);
      }
      const buckets = spec.algorithm === "fixed_window" ? 1 : spec.buckets;
      const perBucket = new Map<number, number>();
      for (const { at, units } of admitted) {
        const index = Math.floor((at * buckets) / spec.windowMs);
        perBucket.set(index, (perBucket.get(index) ?? 0) + units);
      }
      for (const index of perBucket.keys()) {
        let sum = 0;
        for (let i = index; i < index + buckets; i++) sum += perBucket.get(i) ?? 0;
        expect(sum).toBeLessThanOrEqual(spec.limit);
      }
    },
  );

  test.prop([
    fc.integer({ min: 1, max: 50 }),
    fc.constantFrom(7, 100, 1_000, 60_000),
    fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 10 })), { maxLength: 200 }),
  ])(
    "Q6 Q1: a token bucket never admits more than limit + elapsed x limit / window in any interval",
    async (limit, windowMs, steps) => {
      const spec: QuotaLimitSpec = {
        dimension: "tokens",
        limit,
        windowMs,
        algorithm: "token_bucket",
        buckets: 6,
      };
      const limiter = new MemoryQuotaLimiter();
      const key = { service: "s", backendId: `t${++seq}` };
      const admitted: { at: number; units: number }[] = [];
      let now = SCENARIO_START_MS;
      for (const [advance, units] of steps) {
        now += advance;
        if ((await limiter.reserve(key, [spec], { tokens: units }, now)).ok)
          admitted.push({ at: now, units });
      }
      for (let i = 0; i < admitted.length; i++) {
        let sum = 0;
        for (let j = i; j < admitted.length; j++) {
          sum += admitted[j]!.units;
          expect(sum).toBeLessThanOrEqual(limit + ((admitted[j]!.at - admitted[i]!.at) * limit) / windowMs);
        }
      }
    },
  );
});
