/**
 * Statistical tests (S4, S6). Tolerance: every observed count must be within 5 standard
 * deviations of its binomial expectation (sqrt(N p (1 - p))); with a seeded Random the result
 * is deterministic, and for a fresh seed a false failure has probability below 1e-6 per check.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { aliasTable } from "../../../src/balancer/strategies/weighted-random.js";
import { config, deps, pickIds, snapshotOf, tally, weighted } from "./fixtures.js";

const DRAWS = 20_000;

function expectShares(counts: Record<string, number>, expected: Record<string, number>, n: number): void {
  for (const [id, p] of Object.entries(expected)) {
    const sigma = Math.sqrt(n * p * (1 - p));
    expect(Math.abs((counts[id] ?? 0) - n * p), `share of ${id}`).toBeLessThanOrEqual(5 * sigma + 1);
  }
}

describe("random and weighted random", () => {
  test.prop([fc.integer({ min: 2, max: 12 }), fc.integer()], { numRuns: 20 })(
    "S4 random: each of n backends gets 1/n of picks within 5 sigma",
    (n, seed) => {
      const backends = weighted(
        Object.fromEntries(Array.from({ length: n }, (_, i) => [`b${i}`, 1 + (i % 4)])),
      );
      const snapshot = snapshotOf(backends, config({ name: "random" }), deps(seed));
      const expected = Object.fromEntries(backends.map((b) => [b.spec.id, 1 / n]));
      expectShares(tally(pickIds(snapshot, DRAWS)), expected, DRAWS);
    },
  );

  test.prop([fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 10 }), fc.integer()], {
    numRuns: 20,
  })("S4 weighted random: shares match weight / total within 5 sigma", (weights, seed) => {
    const backends = weighted(Object.fromEntries(weights.map((w, i) => [`b${i}`, w])));
    const snapshot = snapshotOf(backends, config({ name: "weighted_random" }), deps(seed));
    const total = weights.reduce((a, b) => a + b, 0);
    const expected = Object.fromEntries(weights.map((w, i) => [`b${i}`, w / total]));
    expectShares(tally(pickIds(snapshot, DRAWS)), expected, DRAWS);
  });

  test.prop([fc.array(fc.double({ min: 0.01, max: 1000, noNaN: true }), { minLength: 1, maxLength: 40 })])(
    "S4 weighted random's alias table gives every backend exactly weight / total",
    (weights) => {
      const [keep, alias] = aliasTable(weights);
      const n = weights.length;
      const total = weights.reduce((a, b) => a + b, 0);
      const probability = weights.map(() => 0);
      for (let column = 0; column < n; column++) {
        probability[column]! += keep[column]! / n;
        probability[alias[column]!]! += (1 - keep[column]!) / n;
      }
      weights.forEach((w, i) => {
        expect(probability[i]).toBeCloseTo(w / total, 9);
      });
    },
  );

  it("S4 weighted random keeps proportional shares among the accepted when some are excluded", () => {
    const snapshot = snapshotOf(
      weighted({ a: 90, b: 3, c: 7 }),
      config({ name: "weighted_random" }),
      deps(7),
    );
    const picks = pickIds(snapshot, DRAWS, { exclude: ["a"] });
    expect(picks).not.toContain("a");
    expectShares(tally(picks), { b: 0.3, c: 0.7 }, DRAWS);
  });

  it("S4 random never returns an excluded backend", () => {
    const snapshot = snapshotOf(weighted({ a: 1, b: 1, c: 1, d: 1 }), config({ name: "random" }), deps(3));
    const picks = pickIds(snapshot, 2000, { exclude: ["a", "c", "d"] });
    expect(new Set(picks)).toEqual(new Set(["b"]));
  });
});
