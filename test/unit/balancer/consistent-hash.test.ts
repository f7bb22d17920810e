import { fc, test } from "@fast-check/vitest";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import { buildTable, isPrime, maglev } from "../../../src/balancer/strategies/maglev.js";
import { ringHash } from "../../../src/balancer/strategies/ring-hash.js";
import { backend, config, pickId, pickIds, select, snapshotOf, weighted } from "./fixtures.js";

const HASH_STRATEGIES = ["ring_hash", "maglev", "rendezvous"] as const;
const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function mapping(backends: BackendState[], strategy: string): string[] {
  const snapshot = snapshotOf(backends, config({ name: strategy }));
  return KEYS.map((hashKey) => pickId(snapshot, { hashKey }));
}

function backends(n: number): BackendState[] {
  return Array.from({ length: n }, (_, i) => backend(`10.0.0.${i}:80`));
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(HASH_STRATEGIES)("consistent hashing: %s", (strategy) => {
  it(`S7 ${strategy}: the same key maps to the same backend, across rebuilt snapshots`, () => {
    const first = mapping(backends(8), strategy);
    expect(mapping(backends(8), strategy)).toEqual(first);
    expect(new Set(first).size).toBe(8);
  });

  it(`S7 ${strategy}: removing 1 of N backends remaps about 1/N of keys`, () => {
    for (const n of [5, 10, 20]) {
      const all = backends(n);
      const before = mapping(all, strategy);
      const removed = all[n >> 1]!.spec.id;
      const after = mapping(
        all.filter((b) => b.spec.id !== removed),
        strategy,
      );
      const moved = KEYS.map((_, i) => i).filter((i) => before[i] !== after[i]);
      const fraction = moved.length / KEYS.length;
      expect(fraction, `n=${n}`).toBeGreaterThan(0.6 / n);
      expect(fraction, `n=${n}`).toBeLessThan(1.45 / n);
      const movedFromRemoved = moved.filter((i) => before[i] === removed).length;
      // ring and rendezvous move only the removed backend's keys; Maglev nearly only those.
      expect(movedFromRemoved / moved.length).toBeGreaterThan(strategy === "maglev" ? 0.85 : 0.999);
    }
  });

  it(`S7 ${strategy}: shares follow weights (within 20% of weight / total)`, () => {
    const keys = KEYS.slice(0, 20_000);
    const snapshot = snapshotOf(weighted({ a: 1, b: 2, c: 3, d: 4 }), config({ name: strategy }));
    const counts: Record<string, number> = {};
    for (const hashKey of keys) {
      const id = pickId(snapshot, { hashKey });
      counts[id] = (counts[id] ?? 0) + 1;
    }
    for (const [id, weight] of Object.entries({ a: 1, b: 2, c: 3, d: 4 })) {
      const expected = (keys.length * weight) / 10;
      expect(Math.abs((counts[id] ?? 0) - expected) / expected, id).toBeLessThan(0.2);
    }
  });

  it(`S7 ${strategy}: without a hash key, round robin serves (no fallback configured)`, () => {
    const snapshot = snapshotOf(backends(3), config({ name: strategy }));
    expect(pickIds(snapshot, 4)).toEqual(["10.0.0.0:80", "10.0.0.1:80", "10.0.0.2:80", "10.0.0.0:80"]);
  });

  it(`S7 S9 ${strategy}: without a hash key, the configured fallback serves`, () => {
    const cfg = config({
      name: strategy,
      fallback: { name: "smooth_weighted", settings: {}, fallback: undefined },
    });
    const snapshot = snapshotOf(weighted({ a: 2, b: 1 }), cfg);
    expect(pickIds(snapshot, 3)).toEqual(["a", "b", "a"]);
  });

  it(`S7 ${strategy}: an excluded owner gives the next choice, the same one every time`, () => {
    const snapshot = snapshotOf(backends(6), config({ name: strategy }));
    const owner = pickId(snapshot, { hashKey: "k" });
    const next = pickId(snapshot, { hashKey: "k", exclude: [owner] });
    expect(next).not.toBe(owner);
    expect(pickIds(snapshot, 5, { hashKey: "k", exclude: [owner] })).toEqual(Array(5).fill(next));
  });
});

describe("hash tables are built with the snapshot, not per request", () => {
  it("S7 the maglev table and the ring are built once per snapshot, again only on rebuild", () => {
    const maglevCreate = vi.spyOn(maglev, "create");
    const ringCreate = vi.spyOn(ringHash, "create");
    for (const name of ["maglev", "ring_hash"]) {
      const all = backends(4);
      const snapshot = snapshotOf(all, config({ name }));
      pickIds(snapshot, 100, { hashKey: "x" });
      all[0]!.health = "unhealthy";
      const rebuilt = snapshotOf(all, config({ name }));
      pickIds(rebuilt, 100, { hashKey: "y" });
    }
    expect(maglevCreate).toHaveBeenCalledTimes(2);
    expect(ringCreate).toHaveBeenCalledTimes(2);
  });

  it("S7 maglev table: every entry filled, shares near equal, prime sizes only", () => {
    const table = buildTable(["a", "b", "c"], [1, 1, 1], 65_537);
    const counts = [0, 0, 0];
    for (const owner of table) counts[owner]!++;
    for (const count of counts) expect(Math.abs(count - 65_537 / 3)).toBeLessThan(65_537 * 0.01);
    expect([2, 3, 65_537, 5_000_011].every(isPrime)).toBe(true);
    expect([0, 1, 4, 65_536, 65_535].some(isPrime)).toBe(false);
  });
});

describe("ring hash bounded load", () => {
  test.prop(
    [
      fc.integer({ min: 100, max: 300 }),
      fc.array(fc.oneof(fc.constant("hot"), fc.string({ minLength: 1, maxLength: 6 })), {
        minLength: 50,
        maxLength: 400,
      }),
      fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 8 }),
    ],
    { numRuns: 60 },
  )(
    "S7 bounded load is never exceeded: a pick never pushes a backend past its slots",
    (factor, keys, weights) => {
      const all = weights.map((weight, i) => backend(`b${i}`, { weight }));
      const cfg = config({ name: "ring_hash", settings: { balance_factor_percent: factor } });
      const snapshot = snapshotOf(all, cfg);
      const totalWeight = weights.reduce((a, b) => a + b, 0);
      let inFlight = 0;
      for (const [i, hashKey] of keys.entries()) {
        const decision = select(snapshot, { hashKey }, { serviceInFlight: inFlight });
        expect(decision.kind).toBe("picked");
        const chosen = decision.kind === "picked" ? decision.backends[0]! : all[0]!;
        const totalSlots = Math.ceil(((inFlight + 1) * factor) / 100);
        const slots = Math.max(1, Math.ceil((totalSlots * chosen.spec.weight) / totalWeight));
        expect(chosen.inFlight + 1).toBeLessThanOrEqual(slots);
        chosen.inFlight++;
        inFlight++;
        if (i % 3 === 2) {
          const release = all.find((b) => b.inFlight > 0)!;
          release.inFlight--;
          inFlight--;
        }
      }
    },
  );

  it("S7 bounded load spreads a hot key instead of piling it on one backend", () => {
    const all = backends(4);
    const cfg = config({ name: "ring_hash", settings: { balance_factor_percent: 150 } });
    const snapshot = snapshotOf(all, cfg);
    for (let i = 0; i < 40; i++) {
      const decision = select(snapshot, { hashKey: "hot" }, { serviceInFlight: i });
      if (decision.kind === "picked") decision.backends[0]!.inFlight++;
    }
    // average 10; bound ceil(ceil(40 * 1.5) / 4) = 15
    for (const b of all) expect(b.inFlight).toBeLessThanOrEqual(15);
  });
});
