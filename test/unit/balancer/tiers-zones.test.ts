import { describe, expect, it } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import type { HealthState } from "../../../src/model/specs.js";
import { backend, config, pickIds, select, snapshotOf, tally } from "./fixtures.js";

function node(id: string, tier: number, zone = "", health: HealthState = "healthy"): BackendState {
  const b = backend(id, { tier, zone });
  b.health = health;
  return b;
}

describe("tiers", () => {
  it("S10 tier k+1 is used only when no backend in tiers <= k is eligible", () => {
    const all = [node("p1", 0), node("p2", 0), node("s1", 1), node("t1", 2)];
    expect(pickIds(snapshotOf(all), 4)).toEqual(["p1", "p2", "p1", "p2"]);
    all[0]!.health = "unhealthy";
    all[1]!.health = "unhealthy";
    expect(pickIds(snapshotOf(all), 2)).toEqual(["s1", "s1"]);
    all[2]!.draining = true;
    expect(pickIds(snapshotOf(all), 2)).toEqual(["t1", "t1"]);
  });

  it("S10 a request whose filters leave nothing in tier 0 is served by tier 1", () => {
    const all = [node("p1", 0), node("s1", 1), node("s2", 1)];
    expect(pickIds(snapshotOf(all), 3, { exclude: ["p1"] })).toEqual(["s1", "s2", "s1"]);
  });

  it("S10 S11 count fills from the lowest tiers first", () => {
    const all = [node("p1", 0), node("s1", 1), node("s2", 1)];
    const decision = select(snapshotOf(all), { count: 2 });
    expect(decision.kind === "picked" && decision.backends.map((b) => b.spec.id)).toEqual(["p1", "s1"]);
  });

  it("S10 tiers are ordered by number, not registration order", () => {
    const all = [node("late", 3), node("first", 1)];
    expect(pickIds(snapshotOf(all), 2)).toEqual(["first", "first"]);
  });
});

describe("zone preference", () => {
  const zones = () => [
    node("e1", 0, "eu"),
    node("e2", 0, "eu"),
    node("e3", 0, "eu"),
    node("u1", 0, "us"),
    node("u2", 0, "us"),
  ];

  it("S10 the caller's zone is preferred while it has enough healthy backends", () => {
    expect(pickIds(snapshotOf(zones()), 4, { zone: "eu" })).toEqual(["e1", "e2", "e3", "e1"]);
    expect(pickIds(snapshotOf(zones()), 3, { zone: "us" })).toEqual(["u1", "u2", "u1"]);
  });

  it("S10 below zone_min_healthy_percent (default 70) the whole tier serves", () => {
    const all = zones();
    all[0]!.health = "unhealthy"; // eu: 2 of 3 healthy = 66% < 70%
    expect(tally(pickIds(snapshotOf(all), 40, { zone: "eu" }))).toEqual({ e2: 10, e3: 10, u1: 10, u2: 10 });
    const lenient = config({}, { zoneMinHealthyPercent: 60 });
    expect(new Set(pickIds(snapshotOf(all, lenient), 40, { zone: "eu" }))).toEqual(new Set(["e2", "e3"]));
  });

  it("S10 when the request's filters leave nothing in the zone, the rest of the tier serves", () => {
    expect(pickIds(snapshotOf(zones()), 2, { zone: "eu", exclude: ["e1", "e2", "e3"] })).toEqual([
      "u1",
      "u2",
    ]);
  });

  it("S10 an unknown zone or no zone means no preference", () => {
    expect(pickIds(snapshotOf(zones()), 5, { zone: "ap" })).toEqual(["e1", "e2", "e3", "u1", "u2"]);
    expect(pickIds(snapshotOf(zones()), 5)).toEqual(["e1", "e2", "e3", "u1", "u2"]);
  });

  it("S10 zone preference stays inside the tier that serves", () => {
    const all = [node("p-us", 0, "us"), node("s-eu", 1, "eu")];
    expect(pickIds(snapshotOf(all), 2, { zone: "eu" })).toEqual(["p-us", "p-us"]);
  });
});
