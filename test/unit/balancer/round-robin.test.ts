/** S1: plain round robin over a snapshot. */
import { describe, expect, it } from "vitest";
import { backend, pickIds, snapshotOf } from "./fixtures.js";

describe("round robin", () => {
  it("S1 round robin in registration order: 3 healthy give a, b, c, a", () => {
    const snapshot = snapshotOf([backend("a"), backend("b"), backend("c")]);
    expect(pickIds(snapshot, 4)).toEqual(["a", "b", "c", "a"]);
  });

  it("S1 round robin skips ineligible backends (unhealthy, draining)", () => {
    const down = backend("b");
    down.health = "unhealthy";
    const draining = backend("d");
    draining.draining = true;
    const snapshot = snapshotOf([backend("a"), down, backend("c"), draining, backend("e")]);
    expect(pickIds(snapshot, 6)).toEqual(["a", "c", "e", "a", "c", "e"]);
  });

  it("S1 round robin skips excluded backends without biasing the next pick", () => {
    const snapshot = snapshotOf([backend("a"), backend("b"), backend("c")]);
    expect(pickIds(snapshot, 1, { exclude: ["a"] })).toEqual(["b"]);
    expect(pickIds(snapshot, 2)).toEqual(["c", "a"]);
  });
});
