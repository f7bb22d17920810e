import { describe, expect, it } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import type { QuotaView } from "../../../src/balancer/quota-view.js";
import { backend, config, deps, select, snapshotOf, tally } from "./fixtures.js";

function quotaOf(ratios: Record<string, number>): QuotaView {
  return { remainingRatio: (b: BackendState) => ratios[b.spec.id] ?? 1 };
}

function picks(ratios: Record<string, number>, n: number, settings = {}): Record<string, number> {
  const all = Object.keys(ratios).map((id) => backend(id));
  const snapshot = snapshotOf(all, config({ name: "most_available", settings }), deps(13));
  const quota = quotaOf(ratios);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const decision = select(snapshot, {}, { quota });
    ids.push(decision.kind === "picked" ? decision.backends[0]!.spec.id : "-");
  }
  return tally(ids);
}

describe("most available", () => {
  it("S8 most available picks the highest remaining ratio", () => {
    expect(picks({ a: 0.2, b: 0.9, c: 0.5 }, 50)).toEqual({ b: 50 });
  });

  it("S8 most available picks at random among those within epsilon (default 0.05) of the best", () => {
    const counts = picks({ a: 0.8, b: 0.78, c: 0.76, d: 0.74 }, 6000);
    expect(counts.d).toBeUndefined();
    const sigma = Math.sqrt(6000 * (1 / 3) * (2 / 3));
    for (const id of ["a", "b", "c"]) expect(Math.abs((counts[id] ?? 0) - 2000)).toBeLessThan(5 * sigma);
  });

  it("S8 most available honours a configured epsilon", () => {
    expect(Object.keys(picks({ a: 0.8, b: 0.78, c: 0.5 }, 300, { epsilon: 0.01 }))).toEqual(["a"]);
    expect(Object.keys(picks({ a: 0.8, b: 0.78, c: 0.5 }, 300, { epsilon: 0.5 })).sort()).toEqual([
      "a",
      "b",
      "c",
    ]);
  });

  it("S8 most available never picks a NaN ratio; without a quota layer it is uniform", () => {
    expect(picks({ a: Number.NaN, b: 0.1 }, 50)).toEqual({ b: 50 });
    const all = ["a", "b", "c"].map((id) => backend(id));
    const snapshot = snapshotOf(all, config({ name: "most_available" }), deps(4));
    const ids = Array.from({ length: 3000 }, () => {
      const d = select(snapshot);
      return d.kind === "picked" ? d.backends[0]!.spec.id : "-";
    });
    const counts = tally(ids);
    for (const id of ["a", "b", "c"]) expect(Math.abs((counts[id] ?? 0) - 1000)).toBeLessThan(150);
  });

  it("S8 most available over backends that are always full picks uniformly, reading few ratios", () => {
    const all = Array.from({ length: 300 }, (_, i) => backend(`b${i}`));
    const snapshot = snapshotOf(all, config({ name: "most_available" }), deps(8));
    let reads = 0;
    const quota: QuotaView = { remainingRatio: () => ++reads && 1, alwaysFull: () => true };
    const picks = 6000;
    const ids = Array.from({ length: picks }, () => {
      const d = select(snapshot, { exclude: ["b0", "b1", "b2"] }, { quota });
      return d.kind === "picked" ? d.backends[0]!.spec.id : "-";
    });
    const counts = tally(ids);
    expect(Object.keys(counts)).not.toContain("b0");
    expect(Object.keys(counts).length).toBeGreaterThan(280);
    // Only the quota filter reads, once per backend drawn: no pass over the 300 backends per pick.
    expect(reads).toBeLessThan(picks * 2);
  });
});
