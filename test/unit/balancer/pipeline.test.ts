import { describe, expect, it } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import { backend, config, pickId, pickIds, select, snapshotOf } from "./fixtures.js";

function ids(decision: ReturnType<typeof select>): string[] {
  return decision.kind === "picked" ? decision.backends.map((b) => b.spec.id) : [];
}

describe("fallback chains", () => {
  it("S9 when the primary yields nothing, the fallback picks", () => {
    const all = [backend("a"), backend("b"), backend("c")];
    for (const b of all) b.ewmaLatencyMs = Number.NaN;
    const cfg = config({
      name: "least_load",
      settings: { metric: "ewma_latency" },
      fallback: { name: "round_robin", settings: {}, fallback: undefined },
    });
    expect(pickIds(snapshotOf(all, cfg), 4)).toEqual(["a", "b", "c", "a"]);
  });

  it("S9 chains go on: hash (no key) -> least load (all NaN) -> random", () => {
    const all = [backend("a"), backend("b")];
    for (const b of all) b.ewmaLatencyMs = Number.NaN;
    const cfg = config({
      name: "maglev",
      fallback: {
        name: "least_load",
        settings: { metric: "ewma_latency" },
        fallback: { name: "random", settings: {}, fallback: undefined },
      },
    });
    expect(new Set(pickIds(snapshotOf(all, cfg), 100))).toEqual(new Set(["a", "b"]));
  });
});

describe("request filters and count", () => {
  const labelled = () => [
    backend("a", { labels: { region: "eu", disk: "ssd" } }),
    backend("b", { labels: { region: "us", disk: "ssd" } }),
    backend("c", { labels: { region: "eu", disk: "hdd" } }),
    backend("d", { labels: { region: "eu", disk: "ssd" } }),
  ];

  it("S11 exclude: an excluded backend is never returned; all excluded is unavailable naming exclude", () => {
    const snapshot = snapshotOf(labelled());
    expect(pickIds(snapshot, 6, { exclude: ["a", "c"] })).toEqual(["b", "d", "b", "d", "b", "d"]);
    const none = select(snapshot, { exclude: ["a", "b", "c", "d"] });
    expect(none.kind).toBe("unavailable");
    expect(none.kind === "unavailable" && none.message).toContain("exclude");
  });

  it("S11 labels: every required label must match", () => {
    const snapshot = snapshotOf(labelled());
    expect(pickIds(snapshot, 4, { labels: { region: "eu", disk: "ssd" } })).toEqual(["a", "d", "a", "d"]);
    const none = select(snapshot, { labels: { region: "ap" } });
    expect(none.kind === "unavailable" && none.message).toContain("labels");
  });

  it("S11 count: N distinct backends, fewer only if fewer are eligible", () => {
    for (const name of ["round_robin", "random", "power_of_two", "ring_hash", "maglev", "rendezvous"]) {
      const snapshot = snapshotOf(labelled(), config({ name }));
      const three = ids(select(snapshot, { count: 3, hashKey: "k" }));
      expect(new Set(three).size, name).toBe(3);
      expect(ids(select(snapshot, { count: 10, hashKey: "k" })).sort(), name).toEqual(["a", "b", "c", "d"]);
      expect(ids(select(snapshot, { count: 3, exclude: ["a", "b"], hashKey: "k" })).sort(), name).toEqual([
        "c",
        "d",
      ]);
    }
  });

  it("S11 count with a hash key: the owner first, then its runners-up", () => {
    const snapshot = snapshotOf(labelled(), config({ name: "rendezvous" }));
    const owner = pickId(snapshot, { hashKey: "session-7" });
    const two = ids(select(snapshot, { hashKey: "session-7", count: 2 }));
    expect(two[0]).toBe(owner);
    expect(two[1]).toBe(pickId(snapshot, { hashKey: "session-7", exclude: [owner] }));
  });
});

describe("backpressure", () => {
  function capped(inFlight: Record<string, number>): BackendState[] {
    return Object.entries(inFlight).map(([id, n]) => {
      const b = backend(id, { maxConnections: 4 });
      b.inFlight = n;
      return b;
    });
  }

  it("S15 past the soft share (25% of 4 = 1) a backend is skipped while another is under it", () => {
    const snapshot = snapshotOf(capped({ a: 2, b: 1, c: 2 }));
    expect(pickIds(snapshot, 3)).toEqual(["b", "b", "b"]);
  });

  it("S15 soft-penalized backends still serve when nothing else is left", () => {
    const snapshot = snapshotOf(capped({ a: 2, b: 2 }));
    expect(pickIds(snapshot, 2)).toEqual(["a", "b"]);
  });

  it("S15 past the hard share (50% of 4 = 2) a backend is excluded: all past gives unavailable", () => {
    const snapshot = snapshotOf(capped({ a: 3, b: 2 }));
    expect(pickIds(snapshot, 2)).toEqual(["b", "b"]);
    const full = snapshotOf(capped({ a: 3, b: 3 }));
    const decision = select(full);
    expect(decision.kind).toBe("unavailable");
    expect(decision.kind === "unavailable" && decision.message).toContain("backpressure");
  });

  it("S15 backends without max_connections are never backpressured", () => {
    const busy = backend("a");
    busy.inFlight = 10_000;
    expect(pickIds(snapshotOf([busy]), 2)).toEqual(["a", "a"]);
  });

  it("S15 S10 a hard-limited tier spills to the next tier; a soft-limited one does not", () => {
    const hard = capped({ a: 3 });
    const spare = backend("z", { tier: 1 });
    expect(pickId(snapshotOf([...hard, spare]))).toBe("z");
    const soft = capped({ a: 2 });
    expect(pickId(snapshotOf([...soft, backend("z", { tier: 1 })]))).toBe("a");
  });
});
