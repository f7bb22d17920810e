import { describe, expect, it } from "vitest";
import type { Explanation } from "../../../src/balancer/explanation.js";
import { backend, config, select, snapshotOf } from "./fixtures.js";

function explain(decision: ReturnType<typeof select>): Explanation {
  if (!decision.explanation) throw new Error("no explanation");
  return decision.explanation;
}

function removedBy(e: Explanation): Record<string, string> {
  return Object.fromEntries(e.candidates.map((c) => [c.backendId, c.removedBy]));
}

describe("explain", () => {
  it("S16 explain lists every backend with the filter that removed it, the counts and the reason", () => {
    const down = backend("down");
    down.health = "unhealthy";
    const draining = backend("draining");
    draining.draining = true;
    const busy = backend("busy", { maxConnections: 2 });
    busy.inFlight = 2;
    const all = [
      down,
      draining,
      backend("excluded"),
      backend("wrong-label", { labels: { disk: "hdd" } }),
      busy,
      backend("remote", { labels: { disk: "ssd" }, zone: "us" }),
      backend("local-1", { labels: { disk: "ssd" }, zone: "eu" }),
      backend("local-2", { labels: { disk: "ssd" }, zone: "eu" }),
      backend("spare", { labels: { disk: "ssd" }, tier: 1 }),
    ];
    const snapshot = snapshotOf(all, config({ name: "round_robin" }, { panicThresholdPercent: 10 }));
    const e = explain(
      select(snapshot, { explain: true, exclude: ["excluded"], labels: { disk: "ssd" }, zone: "eu" }),
    );
    expect(removedBy(e)).toEqual({
      down: "unhealthy",
      draining: "draining",
      excluded: "excluded",
      "wrong-label": "labels",
      busy: "labels",
      remote: "zone",
      "local-1": "",
      "local-2": "",
      spare: "tier",
    });
    expect(e.filters).toEqual([
      { filter: "draining", removed: 1 },
      { filter: "unhealthy", removed: 1 },
      { filter: "excluded", removed: 1 },
      { filter: "labels", removed: 2 },
      { filter: "backpressure", removed: 0 },
      { filter: "tier", removed: 1 },
      { filter: "zone", removed: 1 },
      { filter: "backpressure_soft", removed: 0 },
    ]);
    expect(e.candidates.filter((c) => c.picked).map((c) => c.backendId)).toEqual(["local-1"]);
    expect(e.strategy).toBe("round_robin");
    expect(e.reason).toContain("round_robin picked local-1 from 2 candidates in tier 0");
    expect(e.reason).toContain("zone eu preferred");
  });

  it("S16 explain shows backpressure, scores of a load strategy, and panic", () => {
    const a = backend("a", { maxConnections: 4 });
    a.inFlight = 3;
    const b = backend("b", { maxConnections: 4 });
    b.inFlight = 2;
    const c = backend("c", { maxConnections: 4 });
    const down = backend("d");
    down.health = "unhealthy";
    const snapshot = snapshotOf([a, b, c, down], config({ name: "least_load" }));
    const e = explain(select(snapshot, { explain: true }));
    expect(removedBy(e)).toEqual({ a: "backpressure", b: "backpressure_soft", c: "", d: "unhealthy" });
    expect(e.candidates.map((x) => x.score)).toEqual([0.75, 0.5, 0, 0]);

    const panic = snapshotOf([backend("x"), down], config({}, { panicThresholdPercent: 60 }));
    const p = explain(select(panic, { explain: true }));
    expect(removedBy(p)).toEqual({ x: "", d: "" });
    expect(p.reason).toContain("panic");
  });

  it("S16 explain names the fallback that picked and why", () => {
    const snapshot = snapshotOf([backend("a"), backend("b")], config({ name: "ring_hash" }));
    const e = explain(select(snapshot, { explain: true }));
    expect(e.reason).toContain("ring_hash yielded nothing (no hash_key), so fallback round_robin picked");
  });

  it("S16 explain on a failed Select says why nothing was left", () => {
    const snapshot = snapshotOf([backend("a")]);
    const decision = select(snapshot, { explain: true, exclude: ["a"] });
    expect(decision.kind).toBe("unavailable");
    expect(removedBy(explain(decision))).toEqual({ a: "excluded" });
    expect(explain(decision).reason).toBe("no candidate left after the request's filters");
  });

  it("S16 explain is computed only when asked", () => {
    const decision = select(snapshotOf([backend("a")]));
    expect(decision.explanation).toBeUndefined();
  });

  it("S16 H4 an ejected backend is named ejected, not unhealthy, in explain and in the refusal", () => {
    const ejected = backend("ejected");
    ejected.ejectedUntil = 1;
    const down = backend("down");
    down.health = "unhealthy";
    // Four of six servable: above the 50% panic threshold, so the tier is not in panic.
    const ok = ["ok1", "ok2", "ok3", "ok4"].map((id) => backend(id));
    const e = explain(select(snapshotOf([ejected, down, ...ok]), { explain: true }));
    expect(removedBy(e)).toEqual({
      ejected: "ejected",
      down: "unhealthy",
      ok1: "",
      ok2: "",
      ok3: "",
      ok4: "",
    });
    expect(e.filters.slice(0, 3)).toEqual([
      { filter: "draining", removed: 0 },
      { filter: "ejected", removed: 1 },
      { filter: "unhealthy", removed: 1 },
    ]);
    const none = select(snapshotOf([ejected, down]), { explain: true });
    expect(none.kind).toBe("unavailable");
    expect(none.kind !== "picked" && none.message).toContain("1 unhealthy, 1 ejected, 0 draining");
    expect(removedBy(explain(none))).toEqual({ ejected: "ejected", down: "unhealthy" });
  });
});
