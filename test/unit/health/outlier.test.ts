import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ejectedUntil,
  ejectionDurationMs,
  FRESH_OUTLIER_RECORD,
  type OutlierRecord,
  type OutlierSweep,
  sweepOutliers,
} from "../../../src/health/outlier.js";
import { OutlierTracker } from "../../../src/health/outlier-tracker.js";
import * as D from "../../../src/health/parse-outlier-policy.js";
import type { OutlierPolicy } from "../../../src/model/specs.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom, type Random } from "../../../src/shared/random.js";

const OFF = 0;

function outlierPolicy(overrides: Partial<OutlierPolicy> = {}): OutlierPolicy {
  return {
    enabled: true,
    intervalMs: D.DEFAULT_OUTLIER_INTERVAL_MS,
    baseEjectionTimeMs: D.DEFAULT_BASE_EJECTION_TIME_MS,
    maxEjectionTimeMs: D.DEFAULT_MAX_EJECTION_TIME_MS,
    maxEjectionPercent: D.DEFAULT_MAX_EJECTION_PERCENT,
    successRate: {
      stdevFactor: D.DEFAULT_SUCCESS_RATE_STDEV_FACTOR,
      enforcementPercentage: D.DEFAULT_ENFORCEMENT_PERCENTAGE,
      minimumHosts: D.DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS,
      requestVolume: D.DEFAULT_EJECTION_REQUEST_VOLUME,
    },
    failurePercentage: {
      threshold: D.DEFAULT_FAILURE_PERCENTAGE_THRESHOLD,
      enforcementPercentage: D.DEFAULT_ENFORCEMENT_PERCENTAGE,
      minimumHosts: D.DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS,
      requestVolume: D.DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME,
    },
    ...overrides,
  };
}

/** Success rate only (failure percentage switched off by enforcement 0), and the reverse. */
const successRateOnly = (o: Partial<OutlierPolicy> = {}) => {
  const p = outlierPolicy(o);
  return { ...p, failurePercentage: { ...p.failurePercentage, enforcementPercentage: OFF } };
};
const failurePercentageOnly = (o: Partial<OutlierPolicy> = {}) => {
  const p = outlierPolicy(o);
  return { ...p, successRate: { ...p.successRate, enforcementPercentage: OFF } };
};

/** Records with [successes, failures] per backend b0, b1, ...; `base` carries ejection state over. */
function counters(
  calls: ReadonlyArray<readonly [number, number]>,
  base?: OutlierSweep,
): Map<string, OutlierRecord> {
  return new Map(
    calls.map(([successes, failures], i) => {
      const previous = base?.records.get(`b${i}`) ?? FRESH_OUTLIER_RECORD;
      return [`b${i}`, { ...previous, successes, failures }];
    }),
  );
}

const fixed = (value: number): Random => ({ next: () => value });
const always = fixed(0);
const healthyCalls = (n: number) => Array.from({ length: n }, () => [100, 0] as const);
const ids = (sweep: OutlierSweep) => sweep.ejected.map((e) => e.backendId);

describe("H4 success-rate ejection (gRPC A50)", () => {
  const clock = new ManualClock();

  it("H4 ejects a backend below mean - stdev * stdev_factor/1000", () => {
    // Rates 1, 1, 1, 1, 0.5: mean 0.9, stdev 0.2, cutoff 0.9 - 0.2 * 1.9 = 0.52.
    const sweep = sweepOutliers(
      counters([...healthyCalls(4), [50, 50]]),
      successRateOnly(),
      clock.now(),
      always,
    );
    expect(sweep.ejected).toEqual([
      { backendId: "b4", rule: "success_rate", until: clock.now() + D.DEFAULT_BASE_EJECTION_TIME_MS },
    ]);
    expect(sweep.records.get("b4")).toEqual({
      successes: 0,
      failures: 0,
      ejectedAt: clock.now(),
      multiplier: 1,
    });
  });

  it("H4 spares a backend within stdev_factor/1000 deviations of the mean", () => {
    // Rates 1, 0.98, 0.96, 0.94, 0.9: mean 0.956, stdev 0.0344, cutoff 0.8906 < 0.9.
    const calls = counters([
      [100, 0],
      [98, 2],
      [96, 4],
      [94, 6],
      [90, 10],
    ]);
    expect(sweepOutliers(calls, successRateOnly(), clock.now(), always).ejected).toEqual([]);
  });

  it("H4 with four perfect backends, any imperfect fifth is 2 deviations out and ejected", () => {
    for (const successes of [50, 90, 99]) {
      const calls = counters([...healthyCalls(4), [successes, 100 - successes]]);
      expect(ids(sweepOutliers(calls, successRateOnly(), clock.now(), always))).toEqual(["b4"]);
    }
  });

  it("H4 needs minimum_hosts backends with request_volume calls", () => {
    const fourWithVolume = counters([...healthyCalls(3), [50, 50], [10, 89]]);
    expect(sweepOutliers(fourWithVolume, successRateOnly(), clock.now(), always).ejected).toEqual([]);
    const five = counters([...healthyCalls(4), [50, 50], [10, 89]]);
    expect(
      ids(sweepOutliers(five, successRateOnly({ maxEjectionPercent: 100 }), clock.now(), always)),
    ).toEqual(["b4"]);
  });

  it("H4 a stdev_factor of 1000 is one standard deviation", () => {
    const p = successRateOnly();
    const looser = { ...p, successRate: { ...p.successRate, stdevFactor: 1000 } };
    // Rates 1, 1, 1, 0.9, 0.8: mean 0.94, stdev 0.08; cutoff 0.86 at factor 1000, 0.788 at 1900.
    const calls = counters([...healthyCalls(3), [90, 10], [80, 20]]);
    expect(ids(sweepOutliers(calls, looser, clock.now(), always))).toEqual(["b4"]);
    expect(ids(sweepOutliers(calls, p, clock.now(), always))).toEqual([]);
  });

  it("H4 equal success rates eject nobody (stdev 0)", () => {
    const calls = counters(Array.from({ length: 6 }, () => [70, 30] as const));
    expect(sweepOutliers(calls, outlierPolicy(), clock.now(), always).ejected).toEqual([]);
  });

  it("H4 enforcement_percentage is the chance a flagged backend is ejected", () => {
    const p = successRateOnly();
    const half = { ...p, successRate: { ...p.successRate, enforcementPercentage: 50 } };
    const calls = counters([...healthyCalls(4), [50, 50]]);
    expect(sweepOutliers(calls, half, clock.now(), fixed(0.49)).ejected).toHaveLength(1);
    expect(sweepOutliers(calls, half, clock.now(), fixed(0.5)).ejected).toHaveLength(0);
    const random = createSeededRandom(7);
    let ejected = 0;
    for (let i = 0; i < 2_000; i++) ejected += sweepOutliers(calls, half, clock.now(), random).ejected.length;
    expect(ejected / 2_000).toBeGreaterThan(0.45);
    expect(ejected / 2_000).toBeLessThan(0.55);
  });
});

describe("H4 failure-percentage ejection (gRPC A50)", () => {
  const clock = new ManualClock();

  it("H4 ejects a backend whose failure percentage is above the threshold", () => {
    const calls = counters([...healthyCalls(4), [5, 45]]);
    const sweep = sweepOutliers(calls, failurePercentageOnly(), clock.now(), always);
    expect(sweep.ejected).toEqual([
      { backendId: "b4", rule: "failure_percentage", until: clock.now() + D.DEFAULT_BASE_EJECTION_TIME_MS },
    ]);
  });

  it("H4 exactly at the threshold is not above it", () => {
    const calls = counters([...healthyCalls(4), [15, 85]]);
    expect(sweepOutliers(calls, failurePercentageOnly(), clock.now(), always).ejected).toEqual([]);
  });

  it("H4 needs request_volume calls on the backend and minimum_hosts such backends", () => {
    const lowVolume = counters([...healthyCalls(4), [0, 49]]);
    expect(sweepOutliers(lowVolume, failurePercentageOnly(), clock.now(), always).ejected).toEqual([]);
    const fewHosts = counters([...healthyCalls(3), [0, 60]]);
    expect(sweepOutliers(fewHosts, failurePercentageOnly(), clock.now(), always).ejected).toEqual([]);
  });

  it("H4 catches what success rate cannot: every backend bad, some worse than 85%", () => {
    // Success rates 0.2, 0.1, 0.2, 0.1, 0.14: cutoff 0.063, nobody; failures 80, 90, 80, 90, 86 %.
    const calls = counters([
      [20, 80],
      [10, 90],
      [20, 80],
      [10, 90],
      [14, 86],
    ]);
    const sweep = sweepOutliers(calls, outlierPolicy({ maxEjectionPercent: 100 }), clock.now(), always);
    expect(sweep.ejected.map((e) => [e.backendId, e.rule])).toEqual([
      ["b1", "failure_percentage"],
      ["b3", "failure_percentage"],
      ["b4", "failure_percentage"],
    ]);
  });
});

describe("H4 ejection time", () => {
  it("H4 grows with each ejection and is capped by max(base, max_ejection_time)", () => {
    const clock = new ManualClock();
    const policy = failurePercentageOnly({
      baseEjectionTimeMs: 10_000,
      maxEjectionTimeMs: 25_000,
      intervalMs: 10_000,
    });
    const bad = [...healthyCalls(4), [0, 100]] as const;
    let sweep: OutlierSweep | undefined;
    const durations: number[] = [];
    const returnedAt: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Late reports keep the backend bad even while ejected: it is not ejected twice.
      sweep = sweepOutliers(counters(bad, sweep), policy, clock.now(), always);
      for (const e of sweep.ejected) durations.push(e.until - clock.now());
      if (sweep.returned.length > 0) returnedAt.push(clock.now());
      clock.advance(policy.intervalMs);
    }
    // Ejected at 0 (10 s), back at 10, ejected at 20 (20 s), back at 40, ejected at 50 (25 s, capped), back at 80.
    expect(durations).toEqual([10_000, 20_000, 25_000, 25_000]);
    expect(returnedAt.map((t) => t - returnedAt[0]!)).toEqual([0, 30_000, 70_000]);
  });

  it("H4 the multiplier goes down by one per sweep spent un-ejected", () => {
    const clock = new ManualClock();
    const policy = failurePercentageOnly({ baseEjectionTimeMs: 10_000, maxEjectionTimeMs: 100_000 });
    const bad = [...healthyCalls(4), [0, 100]] as const;
    const good = healthyCalls(5);
    let sweep = sweepOutliers(counters(bad), policy, clock.now(), always); // multiplier 1
    clock.advance(10_000);
    sweep = sweepOutliers(counters(good, sweep), policy, clock.now(), always); // back
    expect(sweep.returned).toEqual(["b4"]);
    clock.advance(10_000);
    sweep = sweepOutliers(counters(bad, sweep), policy, clock.now(), always); // multiplier 2
    expect(sweep.records.get("b4")!.multiplier).toBe(2);
    clock.advance(20_000);
    sweep = sweepOutliers(counters(good, sweep), policy, clock.now(), always); // back, still 2
    expect(sweep.records.get("b4")!.multiplier).toBe(2);
    for (const expected of [1, 0, 0]) {
      clock.advance(10_000);
      sweep = sweepOutliers(counters(good, sweep), policy, clock.now(), always);
      expect(sweep.records.get("b4")!.multiplier).toBe(expected);
    }
    clock.advance(10_000);
    sweep = sweepOutliers(counters(bad, sweep), policy, clock.now(), always);
    expect(sweep.ejected[0]!.until - clock.now()).toBe(10_000);
  });

  it("H4 a max_ejection_time below base is raised to base; ejectedUntil matches the ejection", () => {
    const timing = { baseEjectionTimeMs: 30_000, maxEjectionTimeMs: 5_000 };
    expect(ejectionDurationMs(1, timing)).toBe(30_000);
    expect(ejectionDurationMs(4, timing)).toBe(30_000);
    expect(ejectedUntil({ ...FRESH_OUTLIER_RECORD, ejectedAt: 1_000, multiplier: 3 }, timing)).toBe(31_000);
    expect(ejectedUntil(FRESH_OUTLIER_RECORD, timing)).toBe(0);
  });
});

describe("H4 max ejection percent and never emptying a service", () => {
  const clock = new ManualClock();

  it("H4 max_ejection_percent 10 of 20 backends ejects at most 2, over any number of sweeps", () => {
    const calls = [...healthyCalls(15), ...Array.from({ length: 5 }, () => [0, 100] as const)];
    let sweep = sweepOutliers(counters(calls), failurePercentageOnly(), clock.now(), always);
    expect(ids(sweep)).toEqual(["b15", "b16"]);
    clock.advance(1_000);
    sweep = sweepOutliers(counters(calls, sweep), failurePercentageOnly(), clock.now(), always);
    expect(sweep.ejected).toEqual([]);
  });

  it("H4 the limit is shared by both rules", () => {
    // 30 backends, 10%: success rate takes b26 (100 calls), failure percentage b27 and b28 (60 calls,
    // under success rate's request volume of 100); b29 would be the fourth: 3 of 30 is 10%, stop.
    const calls = [
      ...healthyCalls(26),
      [0, 100] as const,
      ...Array.from({ length: 3 }, () => [0, 60] as const),
    ];
    const sweep = sweepOutliers(
      counters(calls),
      outlierPolicy({ maxEjectionPercent: 10 }),
      clock.now(),
      always,
    );
    expect(sweep.ejected.map((e) => [e.backendId, e.rule])).toEqual([
      ["b26", "success_rate"],
      ["b27", "failure_percentage"],
      ["b28", "failure_percentage"],
    ]);
  });

  it("H4 A50 checks the limit before each ejection: one of five can go at 10%", () => {
    const sweep = sweepOutliers(
      counters([...healthyCalls(4), [0, 100]]),
      outlierPolicy(),
      clock.now(),
      always,
    );
    expect(ids(sweep)).toEqual(["b4"]);
  });

  it("H4 a single-backend service is never emptied, even at max_ejection_percent 100", () => {
    const p = outlierPolicy({ maxEjectionPercent: 100 });
    const one = {
      ...p,
      successRate: { ...p.successRate, minimumHosts: 1 },
      failurePercentage: { ...p.failurePercentage, minimumHosts: 1 },
    };
    let sweep: OutlierSweep | undefined;
    for (let i = 0; i < 5; i++) {
      sweep = sweepOutliers(counters([[0, 1_000]], sweep), one, clock.now(), always);
      expect(sweep.ejected).toEqual([]);
    }
    const two = sweepOutliers(
      counters([
        [0, 1_000],
        [0, 1_000],
      ]),
      one,
      clock.now(),
      always,
    );
    expect(ids(two)).toEqual(["b0"]);
  });

  it("H4 property: an ejection needs ejected% < max before it, and one backend always stays in", () => {
    const callsArb = fc.array(fc.tuple(fc.nat(200), fc.nat(200)), { minLength: 1, maxLength: 12 });
    const policyArb = fc.record({
      maxEjectionPercent: fc.integer({ min: 1, max: 100 }),
      minimumHosts: fc.integer({ min: 0, max: 6 }),
      requestVolume: fc.integer({ min: 1, max: 100 }),
      threshold: fc.integer({ min: 0, max: 100 }),
      stdevFactor: fc.integer({ min: 0, max: 3000 }),
    });
    fc.assert(
      fc.property(
        policyArb,
        fc.array(callsArb, { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (knobs, rounds, seed) => {
          const p = outlierPolicy({
            maxEjectionPercent: knobs.maxEjectionPercent,
            baseEjectionTimeMs: 15_000,
          });
          const policy: OutlierPolicy = {
            ...p,
            successRate: { ...p.successRate, ...knobs },
            failurePercentage: { ...p.failurePercentage, ...knobs },
          };
          const random = createSeededRandom(seed);
          const n = rounds[0]!.length;
          let sweep: OutlierSweep | undefined;
          let now = 1_000;
          for (const round of rounds) {
            const calls = Array.from({ length: n }, (_, i) => round[i] ?? ([0, 0] as const));
            const before = [...(sweep?.records.values() ?? [])].filter((r) => r.ejectedAt > 0).length;
            sweep = sweepOutliers(counters(calls, sweep), policy, now, random);
            const k = sweep.ejected.length;
            if (k > 0) expect(((before + k - 1) * 100) / n).toBeLessThan(policy.maxEjectionPercent);
            const stillOut = [...sweep.records.values()].filter((r) => r.ejectedAt > 0).length;
            expect(stillOut).toBeLessThan(n);
            now += 10_000;
          }
        },
      ),
    );
  });
});

describe("H4 records and the tracker", () => {
  const clock = new ManualClock();

  it("H4 a sweep zeroes the counters and keeps the order", () => {
    const calls = counters([
      [3, 1],
      [5, 0],
      [0, 2],
    ]);
    const sweep = sweepOutliers(calls, outlierPolicy(), clock.now(), always);
    expect([...sweep.records.keys()]).toEqual(["b0", "b1", "b2"]);
    for (const r of sweep.records.values()) expect(r).toMatchObject({ successes: 0, failures: 0 });
  });

  it("H4 a disabled policy returns every ejected backend and resets its multiplier", () => {
    const ejected = sweepOutliers(
      counters([...healthyCalls(4), [0, 100]]),
      outlierPolicy(),
      clock.now(),
      always,
    );
    const off = sweepOutliers(ejected.records, outlierPolicy({ enabled: false }), clock.now(), always);
    expect(off.returned).toEqual(["b4"]);
    expect(off.records.get("b4")).toEqual(FRESH_OUTLIER_RECORD);
  });

  it("H4 H3 the tracker counts failures, timeouts and rejections, not rate limits or not-founds", () => {
    const tracker = new OutlierTracker(["b0", "b1", "b2", "b3", "b4"]);
    for (let i = 0; i < 100; i++) {
      for (const id of ["b0", "b1", "b2", "b3"]) tracker.record(id, "success");
      tracker.record("b4", (["failure", "timeout", "rejected"] as const)[i % 3]!);
      tracker.record("b0", "rate_limited");
      tracker.record("b0", "not_found");
    }
    expect(tracker.get("b0")).toMatchObject({ successes: 100, failures: 0 });
    expect(tracker.get("b4")).toMatchObject({ successes: 0, failures: 100 });
    const policy = outlierPolicy();
    const sweep = tracker.sweep(policy, clock.now(), always);
    expect(ids(sweep)).toEqual(["b4"]);
    expect(tracker.isEjected("b4")).toBe(true);
    expect(tracker.ejectedUntil("b4", policy)).toBe(clock.now() + policy.baseEjectionTimeMs);
    expect(tracker.get("b4")).toMatchObject({ successes: 0, failures: 0 });
  });

  it("H4 the tracker follows membership: survivors keep their ejection, newcomers start fresh", () => {
    const tracker = new OutlierTracker(["b0", "b1", "b2", "b3", "b4"]);
    for (let i = 0; i < 100; i++) tracker.record("b4", "failure");
    for (const id of ["b0", "b1", "b2", "b3"]) for (let i = 0; i < 100; i++) tracker.record(id, "success");
    tracker.sweep(outlierPolicy(), clock.now(), always);
    tracker.sync(["b4", "b9", "b0"]);
    expect(tracker.isEjected("b4")).toBe(true);
    expect(tracker.get("b9")).toEqual(FRESH_OUTLIER_RECORD);
    expect(tracker.get("b1")).toBeUndefined();
    tracker.record("b7", "failure");
    expect(tracker.get("b7")).toMatchObject({ failures: 1 });
  });
});
