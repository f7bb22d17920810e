import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { SmoothWeightedPicker } from "../../../src/balancer/strategies/smooth-weighted.js";
import { ACCEPT_ALL } from "../../../src/balancer/strategy.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { backend, config, pickIds, snapshotOf, tally, weighted } from "./fixtures.js";

/** nginx's loop, literally: the reference the grouped implementation must match. */
function nginxSequence(weights: readonly number[], turns: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const current = weights.map(() => 0);
  const out: number[] = [];
  for (let t = 0; t < turns; t++) {
    let best = -1;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    out.push(best);
  }
  return out;
}

describe("smooth weighted round robin", () => {
  it("S2 smooth WRR 5,1,1 gives a a b a c a a", () => {
    const snapshot = snapshotOf(weighted({ a: 5, b: 1, c: 1 }), config({ name: "smooth_weighted" }));
    const cycle = ["a", "a", "b", "a", "c", "a", "a"];
    expect(pickIds(snapshot, 21)).toEqual([...cycle, ...cycle, ...cycle]);
  });

  it("S2 smooth WRR with equal weights is round robin", () => {
    const snapshot = snapshotOf(weighted({ a: 3, b: 3, c: 3 }), config({ name: "smooth_weighted" }));
    expect(pickIds(snapshot, 6)).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  test.prop([fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 9 })])(
    "S2 smooth WRR matches nginx's loop exactly for any weights, over three cycles",
    (weights) => {
      const backends = weights.map((weight, i) => backend(`b${i}`, { weight }));
      const picker = new SmoothWeightedPicker(
        { backends, weights, capacities: weights },
        createSeededRandom(1),
      );
      const total = weights.reduce((a, b) => a + b, 0);
      const picked = Array.from({ length: total * 3 }, () => backends.indexOf(picker.pick(ACCEPT_ALL)!));
      expect(picked).toEqual(nginxSequence(weights, total * 3));
    },
  );

  it("S2 smooth WRR steps turn by turn (no precomputed cycle) for large cycles, still matching nginx", () => {
    const weights = Array.from({ length: 500 }, (_, i) => 10_000 - i);
    const backends = weights.map((weight, i) => backend(`b${i}`, { weight }));
    const picker = new SmoothWeightedPicker(
      { backends, weights, capacities: weights },
      createSeededRandom(1),
    );
    const picked = Array.from({ length: 2_000 }, () => backends.indexOf(picker.pick(ACCEPT_ALL)!));
    expect(picked).toEqual(nginxSequence(weights, 2_000));
  });

  it("S2 smooth WRR never returns a rejected backend and keeps shares among the accepted", () => {
    const snapshot = snapshotOf(weighted({ a: 100, b: 1, c: 2 }), config({ name: "smooth_weighted" }));
    const picks = pickIds(snapshot, 3000, { exclude: ["a"] });
    expect(picks).not.toContain("a");
    const counts = tally(picks);
    // b:c is 1:2; the weighted random fallback makes it statistical: 5 sigma of a binomial.
    const sigma = Math.sqrt(3000 * (1 / 3) * (2 / 3));
    expect(Math.abs((counts.b ?? 0) - 1000)).toBeLessThan(5 * sigma);
  });
});

describe("interleaved weighted round robin", () => {
  it("S3 interleaved WRR by capacity: max_connections 5,1,1 give a b c a a a a", () => {
    const backends = [
      backend("a", { maxConnections: 5 }),
      backend("b", { maxConnections: 1 }),
      backend("c", { maxConnections: 1 }),
    ];
    // Backpressure would penalize busy backends; nothing is in flight here.
    const snapshot = snapshotOf(backends, config({ name: "interleaved_weighted" }));
    const cycle = ["a", "b", "c", "a", "a", "a", "a"];
    expect(pickIds(snapshot, 14)).toEqual([...cycle, ...cycle]);
  });

  it("S3 interleaved WRR uses the weight when max_connections is 0 and reduces by the gcd", () => {
    const snapshot = snapshotOf(weighted({ a: 200, b: 100 }), config({ name: "interleaved_weighted" }));
    expect(pickIds(snapshot, 6)).toEqual(["a", "b", "a", "a", "b", "a"]);
  });

  it("S3 interleaved WRR is its own mode: weights are ignored when max_connections is set", () => {
    const backends = [
      backend("a", { weight: 10, maxConnections: 1 }),
      backend("b", { weight: 1, maxConnections: 2 }),
    ];
    const snapshot = snapshotOf(backends, config({ name: "interleaved_weighted" }));
    expect(pickIds(snapshot, 6)).toEqual(["a", "b", "b", "a", "b", "b"]);
  });

  it("S3 interleaved WRR skips rejected slots and still serves the accepted", () => {
    const snapshot = snapshotOf(weighted({ a: 1000, b: 1, c: 1 }), config({ name: "interleaved_weighted" }));
    const picks = pickIds(snapshot, 10, { exclude: ["a"] });
    expect(new Set(picks)).toEqual(new Set(["b", "c"]));
  });
});
