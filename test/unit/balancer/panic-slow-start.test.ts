import { describe, expect, it } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import { slowStartFactor } from "../../../src/balancer/slow-start.js";
import { backend, config, deps, pickIds, select, snapshotOf, T0, tally } from "./fixtures.js";

function tier(ids: string[], unhealthy: string[], tierNumber = 0): BackendState[] {
  return ids.map((id) => {
    const b = backend(id, { tier: tierNumber });
    if (unhealthy.includes(id)) b.health = "unhealthy";
    return b;
  });
}

describe("panic threshold and fail-open", () => {
  it("S13 at or above the panic threshold (50%) only healthy backends serve, not degraded", () => {
    const snapshot = snapshotOf(tier(["a", "b", "c", "d"], ["a", "b"]));
    expect(pickIds(snapshot, 4)).toEqual(["c", "d", "c", "d"]);
    const decision = select(snapshot);
    expect(decision.kind === "picked" && decision.degraded).toBe(false);
  });

  it("S13 below the panic threshold the tier serves from all its backends, flagged degraded", () => {
    const snapshot = snapshotOf(tier(["a", "b", "c", "d"], ["a", "b", "c"]));
    expect(pickIds(snapshot, 4)).toEqual(["a", "b", "c", "d"]);
    const decision = select(snapshot);
    expect(decision.kind === "picked" && decision.degraded).toBe(true);
  });

  it("S13 the panic threshold is per tier and configurable", () => {
    const all = [...tier(["a", "b", "c", "d"], ["a", "b", "c"]), ...tier(["x", "y"], [], 1)];
    const strict = snapshotOf(all, config({}, { panicThresholdPercent: 20 }));
    expect(pickIds(strict, 2)).toEqual(["d", "d"]);
    const decision = select(strict);
    expect(decision.kind === "picked" && decision.degraded).toBe(false);
    const panicking = snapshotOf(all);
    expect(new Set(pickIds(panicking, 8))).toEqual(new Set(["a", "b", "c", "d"]));
  });

  it("S13 with no healthy backend: unavailable, or every backend with fail_open (degraded)", () => {
    const all = tier(["a", "b"], ["a", "b"]);
    const closed = select(snapshotOf(all));
    expect(closed.kind).toBe("unavailable");
    expect(closed.kind === "unavailable" && closed.message).toContain("fail_open is off");
    const open = snapshotOf(all, config({}, { failOpen: true }));
    expect(pickIds(open, 3)).toEqual(["a", "b", "a"]);
    const decision = select(open);
    expect(decision.kind === "picked" && decision.degraded).toBe(true);
  });

  it("S13 fail-open never serves draining backends", () => {
    const all = tier(["a", "b"], ["a", "b"]);
    all[0]!.draining = true;
    expect(pickIds(snapshotOf(all, config({}, { failOpen: true })), 2)).toEqual(["b", "b"]);
  });
});

describe("slow start", () => {
  const policy = { windowMs: 60_000, aggression: 1, minWeightPercent: 10 };

  it("S14 Envoy's formula: weight * max(min_weight, (t / window) ^ (1 / aggression))", () => {
    expect(slowStartFactor(T0, T0, policy)).toBe(0.1);
    expect(slowStartFactor(T0, T0 + 30_000, policy)).toBe(0.5);
    expect(slowStartFactor(T0, T0 + 60_000, policy)).toBe(1);
    expect(slowStartFactor(T0, T0 + 15_000, { ...policy, aggression: 2 })).toBe(0.5);
    expect(slowStartFactor(T0, T0 + 1_000, { ...policy, minWeightPercent: 50 })).toBe(0.5);
    expect(slowStartFactor(T0, T0 + 1_000, undefined)).toBe(1);
  });

  function shares(name: string) {
    const d = deps(21);
    const old = backend("old", {}, 0);
    const fresh = backend("new", {}, T0);
    const snapshot = snapshotOf([old, fresh], config({ name }, { slowStart: policy }), d);
    const at = (ms: number) => {
      d.clock.advance(ms - (d.clock.now() - T0));
      return tally(pickIds(snapshot, 1100)).new ?? 0;
    };
    return { at };
  }

  it("S14 smooth WRR ramps a new backend's share with the clock (exact: min weight, half, full)", () => {
    const { at } = shares("smooth_weighted");
    expect(at(0)).toBe(100); // weights 1 : 0.1 -> 1000 : 100 of 1100
    expect(at(30_000)).toBe(367); // 1 : 0.5 -> 733 : 367 (rounded), refreshed every 3 s
    expect(at(61_000)).toBe(550); // equal again
  });

  it("S14 weighted random ramps too (statistically), and least load scales capacity", () => {
    const { at } = shares("weighted_random");
    expect(Math.abs(at(0) - 100)).toBeLessThan(50);
    expect(Math.abs(at(61_000) - 550)).toBeLessThan(90);
    const d = deps();
    const old = backend("old", {}, 0);
    const fresh = backend("new", {}, T0);
    old.inFlight = 1;
    fresh.inFlight = 0;
    const ll = snapshotOf([old, fresh], config({ name: "least_load" }, { slowStart: policy }), d);
    d.clock.advance(1_000);
    // new: 0 / 0.1 = 0 < 1: an idle new backend still wins; one call makes it 10x as loaded.
    expect(pickIds(ll, 1)).toEqual(["new"]);
    fresh.inFlight = 1;
    expect(pickIds(ll, 1)).toEqual(["old"]);
  });
});
