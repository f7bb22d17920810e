import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import { registeredCapacity } from "../../../src/balancer/capacity.js";
import { peakEwmaAt, recordLatency } from "../../../src/balancer/load/latency-estimate.js";
import { loadFunction, PEAK_EWMA_MIN_RTT_MS } from "../../../src/balancer/load/load-metric.js";
import { PowerOfTwoPicker } from "../../../src/balancer/strategies/power-of-two.js";
import { ACCEPT_ALL } from "../../../src/balancer/strategy.js";
import { createSeededRandom, type Random } from "../../../src/shared/random.js";
import { backend, config, deps, pickId, pickIds, snapshotOf, T0, tally } from "./fixtures.js";

function withInFlight(
  loads: Record<string, number>,
  extra: Record<string, { maxConnections?: number }> = {},
) {
  return Object.entries(loads).map(([id, inFlight]) => {
    const b = backend(id, extra[id] ?? {});
    b.inFlight = inFlight;
    return b;
  });
}

describe("least load", () => {
  it("S5 least load picks the lowest in-flight / capacity", () => {
    const backends = withInFlight(
      { a: 3, b: 1, c: 2 },
      { a: { maxConnections: 10 }, c: { maxConnections: 4 } },
    );
    // a 0.3, b 1/1 (capacity = weight 1), c 0.5; backpressure would penalize, so allow high shares.
    const snapshot = snapshotOf(
      backends,
      config({ name: "least_load" }, { backpressureSoftPercent: 1000, backpressureHardPercent: 1000 }),
    );
    expect(pickId(snapshot)).toBe("a");
  });

  it("S5 least load breaks ties by first index, deterministically", () => {
    const snapshot = snapshotOf(withInFlight({ a: 1, b: 0, c: 0, d: 0 }), config({ name: "least_load" }));
    expect(pickIds(snapshot, 5)).toEqual(["b", "b", "b", "b", "b"]);
  });

  it("S5 least load spreads as in-flight counts grow", () => {
    const backends = withInFlight({ a: 0, b: 0, c: 0 });
    const snapshot = snapshotOf(backends, config({ name: "least_load" }));
    const picks: string[] = [];
    for (let i = 0; i < 6; i++) {
      const id = pickId(snapshot);
      picks.push(id);
      backends.find((b) => b.spec.id === id)!.inFlight++;
    }
    expect(picks).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("S5 least load with random_tie_break picks uniformly among the tied, never a worse one", () => {
    const cfg = config({ name: "least_load", settings: { random_tie_break: true } });
    const snapshot = snapshotOf(withInFlight({ a: 0, b: 0, c: 0, d: 1 }), cfg, deps(5));
    const counts = tally(pickIds(snapshot, 9000));
    expect(counts.d).toBeUndefined();
    const sigma = Math.sqrt(9000 * (1 / 3) * (2 / 3));
    for (const id of ["a", "b", "c"]) expect(Math.abs((counts[id] ?? 0) - 3000)).toBeLessThan(5 * sigma);
  });

  it("S5 least load never chooses a NaN load", () => {
    const backends = withInFlight({ a: 0, b: 0, c: 0 });
    backends[0]!.ewmaLatencyMs = Number.NaN;
    backends[1]!.ewmaLatencyMs = 50;
    backends[2]!.ewmaLatencyMs = 20;
    const snapshot = snapshotOf(
      backends,
      config({ name: "least_load", settings: { metric: "ewma_latency" } }),
    );
    expect(pickIds(snapshot, 3)).toEqual(["c", "c", "c"]);
    for (const b of backends) b.ewmaLatencyMs = Number.NaN;
    expect(pickId(snapshot)).toBe("-");
  });
});

describe("power of two choices", () => {
  it("S6 power of two draws two distinct backends: of two, the less loaded always wins", () => {
    const snapshot = snapshotOf(withInFlight({ a: 5, b: 0 }), config({ name: "power_of_two" }), deps(9));
    expect(new Set(pickIds(snapshot, 200))).toEqual(new Set(["b"]));
  });

  it("S6 power of two follows in-flight changes made after its pool was built, here and from other replicas, and after it is disposed", () => {
    const backends = withInFlight({ a: 0, b: 0 });
    const snapshot = snapshotOf(backends, config({ name: "power_of_two" }), deps(3));
    backends[0]!.inFlight = 5;
    expect(new Set(pickIds(snapshot, 50))).toEqual(new Set(["b"]));
    backends[1]!.remoteInFlight = 9;
    expect(new Set(pickIds(snapshot, 50))).toEqual(new Set(["a"]));
    // A replaced pool lets go of its backends and still answers from what they hold now.
    for (const route of snapshot.routes) route.pool.dispose();
    backends[0]!.inFlight = 20;
    expect(new Set(pickIds(snapshot, 50))).toEqual(new Set(["b"]));
  });

  it.each([
    ["kept in an array by load watchers", 0],
    ["read from the backends", Number.POSITIVE_INFINITY],
  ])("S6 power of two compares in-flight / capacity, %s", (_, loadArrayMinBackends) => {
    const backends = withInFlight({ a: 3, b: 1 }, { a: { maxConnections: 10 } });
    const picker = new PowerOfTwoPicker(
      { backends, weights: [1, 1], capacities: backends.map(registeredCapacity) },
      {
        load: loadFunction("in_flight", 0),
        clock: undefined,
        random: createSeededRandom(4),
        inFlight: true,
        loadArrayMinBackends,
      },
    );
    const picks = (n: number) => new Set(Array.from({ length: n }, () => picker.pick(ACCEPT_ALL)?.spec.id));
    // a: 3 / 10, b: 1 / 1 (capacity = weight).
    expect(picks(50)).toEqual(new Set(["a"]));
    backends[0]!.inFlight = 20;
    expect(picks(50)).toEqual(new Set(["b"]));
    picker.dispose();
    backends[1]!.remoteInFlight = 30;
    expect(picks(50)).toEqual(new Set(["a"]));
  });

  it("S6 power of two takes a pair from one draw when the Random has the bits for it, else two", () => {
    const draws = (bits: number | undefined, n: number): number => {
      const seeded = createSeededRandom(8);
      let count = 0;
      const next = () => {
        count++;
        return seeded.next();
      };
      const random: Random = { next, ...(bits && { bits }) };
      const all = withInFlight(Object.fromEntries(Array.from({ length: n }, (_, i) => [`b${i}`, 0])));
      const snapshot = snapshotOf(all, config({ name: "power_of_two" }), { ...deps(), random });
      pickIds(snapshot, 100);
      return count;
    };
    expect(draws(undefined, 1_024)).toBe(100);
    expect(draws(undefined, 1_025)).toBe(200);
    expect(draws(52, 10_000)).toBe(100);
    expect(draws(34, 2_048)).toBe(100);
    expect(draws(34, 2_049)).toBe(200);
  });

  test.prop([fc.integer({ min: 3, max: 8 }), fc.integer()], { numRuns: 15 })(
    "S6 power of two picks each backend with probability 2 * (backends more loaded) / (n (n - 1)), within 5 sigma",
    (n, seed) => {
      const loads = Object.fromEntries(Array.from({ length: n }, (_, i) => [`b${i}`, i]));
      const snapshot = snapshotOf(withInFlight(loads), config({ name: "power_of_two" }), deps(seed));
      const draws = 20_000;
      const counts = tally(pickIds(snapshot, draws));
      expect(counts[`b${n - 1}`]).toBeUndefined();
      for (let i = 0; i < n - 1; i++) {
        const p = (2 * (n - 1 - i)) / (n * (n - 1));
        const sigma = Math.sqrt(draws * p * (1 - p));
        expect(Math.abs((counts[`b${i}`] ?? 0) - draws * p)).toBeLessThanOrEqual(5 * sigma);
      }
    },
  );

  it("S6 power of two with peak-EWMA avoids a slow backend, then retries it once its peak has decayed", () => {
    const d = deps(11);
    const backends = withInFlight({ slow: 0, fast: 0 });
    const [slow, fast] = backends as [(typeof backends)[0], (typeof backends)[0]];
    const cfg = config({ name: "power_of_two", settings: { metric: "peak_ewma", decay_ms: 10_000 } });
    const snapshot = snapshotOf(backends, cfg, d);
    recordLatency(slow, 500, d.clock.now(), 10_000);
    recordLatency(fast, 10, d.clock.now(), 10_000);
    expect(new Set(pickIds(snapshot, 50))).toEqual(new Set(["fast"]));
    d.clock.advance(60_000);
    recordLatency(fast, 10, d.clock.now(), 10_000);
    // slow: 500 * e^-6 = 1.24 ms < fast: 10 ms
    expect(new Set(pickIds(snapshot, 50))).toEqual(new Set(["slow"]));
  });

  it("S6 power of two ignores a NaN load and keeps picking the other", () => {
    const backends = withInFlight({ a: 0, b: 0, c: 0 });
    backends[0]!.ewmaLatencyMs = Number.NaN;
    const cfg = config({ name: "power_of_two", settings: { metric: "ewma_latency" } });
    const picks = pickIds(snapshotOf(backends, cfg, deps(2)), 300);
    expect(picks).not.toContain("a");
  });
});

describe("load metrics", () => {
  it("S6 EWMA and peak-EWMA decay on the injected clock with exact values", () => {
    const b = backend("a");
    recordLatency(b, 100, T0, 10_000);
    expect(b.ewmaLatencyMs).toBe(100);
    expect(b.peakEwmaMs).toBe(100);
    const w = Math.exp(-1);
    recordLatency(b, 50, T0 + 10_000, 10_000);
    expect(b.ewmaLatencyMs).toBeCloseTo(100 * w + 50 * (1 - w), 10);
    expect(b.peakEwmaMs).toBeCloseTo(100 * w + 50 * (1 - w), 10);
    recordLatency(b, 200, T0 + 20_000, 10_000);
    expect(b.peakEwmaMs).toBe(200);
    expect(b.ewmaLatencyMs).toBeCloseTo((100 * w + 50 * (1 - w)) * w + 200 * (1 - w), 10);
    expect(peakEwmaAt(b, T0 + 30_000, 10_000)).toBeCloseTo(200 * w, 10);
  });

  it("S6 peak-EWMA cost is max(rtt, 1 ms) * (in-flight + 1), so in-flight counts before any report", () => {
    const b = backend("a");
    b.inFlight = 3;
    const cost = loadFunction("peak_ewma", 10_000);
    expect(cost(b, T0)).toBe(PEAK_EWMA_MIN_RTT_MS * 4);
    recordLatency(b, 20, T0, 10_000);
    expect(cost(b, T0)).toBe(80);
    expect(cost(b, T0 + 10_000)).toBeCloseTo(20 * Math.exp(-1) * 4, 10);
  });
});
