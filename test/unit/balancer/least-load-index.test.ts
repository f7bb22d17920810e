/**
 * least_load's load index against the scan it replaced (least-load-scan.ts): random pools,
 * random load changes through every writer (in flight here and remote, latency reports, the
 * clock), random request filters; after every step the index must pick what the scan picks.
 * Each property runs with the index forced (no pool scanned) and as shipped (small pools scanned).
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect, it } from "vitest";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import { recordLatency } from "../../../src/balancer/load/latency-estimate.js";
import { type LoadMetricName, loadFunction } from "../../../src/balancer/load/load-metric.js";
import { FULL_QUOTA } from "../../../src/balancer/quota-view.js";
import { LeastLoadPicker, SCAN_MAX_BACKENDS } from "../../../src/balancer/strategies/least-load.js";
import type { Accept, Picker } from "../../../src/balancer/strategy.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { backend, T0 } from "./fixtures.js";
import { scanLeastLoad } from "./least-load-scan.js";

const DECAY_MS = 10_000;

type Step =
  | { kind: "in_flight"; at: number; value: number }
  | { kind: "remote"; at: number; value: number }
  | { kind: "ewma"; at: number; value: number }
  | { kind: "latency"; at: number; ms: number }
  | { kind: "advance"; ms: number }
  | { kind: "pick"; rejected: number[] }
  | { kind: "rebuild" };

const count = fc.integer({ min: 0, max: 4 });
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("in_flight" as const), at: fc.nat(), value: count }),
  fc.record({ kind: fc.constant("remote" as const), at: fc.nat(), value: count }),
  fc.record({
    kind: fc.constant("ewma" as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 5, 10, Number.NaN), fc.double({ min: 0, max: 100, noNaN: true })),
  }),
  fc.record({ kind: fc.constant("latency" as const), at: fc.nat(), ms: fc.constantFrom(0.5, 1, 2, 20, 300) }),
  fc.record({ kind: fc.constant("advance" as const), ms: fc.constantFrom(1, 100, 5_000, 40_000) }),
  fc.record({ kind: fc.constant("pick" as const), rejected: fc.array(fc.nat(), { maxLength: 6 }) }),
  fc.record({ kind: fc.constant("rebuild" as const) }),
);

const pool = fc.array(
  fc.record({ weight: fc.integer({ min: 1, max: 4 }), factor: fc.constantFrom(1, 1, 0.5, 0.3) }),
  { minLength: 1, maxLength: 24 },
);

/** Largest pool the picker scans: 0 forces the index for every pool; SCAN_MAX_BACKENDS as shipped. */
const scanUpTo = fc.constantFrom(0, SCAN_MAX_BACKENDS);

interface Run {
  readonly backends: BackendState[];
  readonly capacities: number[];
  readonly clock: ManualClock;
  picker: Picker;
  readonly build: () => Picker;
}

function start(
  members: { weight: number; factor: number }[],
  metric: LoadMetricName,
  tieBreak: boolean,
  scanMaxBackends = 0,
): Run {
  const backends = members.map((m, i) => backend(`b${i}`, { weight: m.weight }));
  const capacities = members.map((m) => m.weight * m.factor);
  const clock = new ManualClock(T0);
  const build = () =>
    new LeastLoadPicker(
      { backends, weights: capacities, capacities },
      {
        metric,
        decayMs: DECAY_MS,
        clock,
        random: tieBreak ? createSeededRandom(3) : undefined,
        scanMaxBackends,
      },
    );
  return { backends, capacities, clock, picker: build(), build };
}

/** Applies a non-pick step; returns the filter of a pick step. */
function apply(run: Run, s: Step): Accept | undefined {
  const n = run.backends.length;
  switch (s.kind) {
    case "in_flight":
      run.backends[s.at % n]!.inFlight = s.value;
      return undefined;
    case "remote":
      run.backends[s.at % n]!.remoteInFlight = s.value;
      return undefined;
    case "ewma":
      run.backends[s.at % n]!.ewmaLatencyMs = s.value;
      return undefined;
    case "latency":
      recordLatency(run.backends[s.at % n]!, s.ms, run.clock.now(), DECAY_MS);
      return undefined;
    case "advance":
      run.clock.advance(s.ms);
      return undefined;
    case "rebuild":
      run.picker.dispose?.();
      // Odd pools keep the disposed picker: it must still answer right.
      if (run.backends.length % 2 === 0) run.picker = run.build();
      return undefined;
    case "pick": {
      const rejected = new Set(s.rejected.map((i) => run.backends[i % n]!));
      return (b) => !rejected.has(b);
    }
  }
}

const context = { hashKey: "", quota: FULL_QUOTA, serviceInFlight: 0 };

describe("least load index", () => {
  test.prop([
    pool,
    fc.array(step, { maxLength: 60 }),
    fc.constantFrom<LoadMetricName>("in_flight", "ewma_latency"),
    scanUpTo,
  ])(
    "S5 least load picks exactly what a scan picks, through any load changes and filters",
    (members, steps, metric, scanMaxBackends) => {
      const run = start(members, metric, false, scanMaxBackends);
      const load = loadFunction(metric, DECAY_MS);
      for (const s of steps) {
        const accept = apply(run, s);
        if (!accept) continue;
        const expected = scanLeastLoad(run.backends, run.capacities, load, run.clock.now(), accept).best;
        expect(run.picker.pick(accept, context)).toBe(expected < 0 ? undefined : run.backends[expected]);
      }
    },
  );

  test.prop([pool, fc.array(step, { maxLength: 80 }), scanUpTo], { numRuns: 400 })(
    "S5 S6 least load with peak-EWMA picks a backend of the scan's lowest cost as the clock moves",
    (members, steps, scanMaxBackends) => {
      const run = start(members, "peak_ewma", false, scanMaxBackends);
      const load = loadFunction("peak_ewma", DECAY_MS);
      for (const s of steps) {
        const accept = apply(run, s);
        if (!accept) continue;
        const now = run.clock.now();
        const expected = scanLeastLoad(run.backends, run.capacities, load, now, accept);
        const picked = run.picker.pick(accept, context);
        if (expected.best < 0) {
          expect(picked).toBeUndefined();
          continue;
        }
        expect(picked).toBeDefined();
        const i = run.backends.indexOf(picked!);
        expect(accept(picked!)).toBe(true);
        // Exact up to the rounding of the decaying order (load-index.ts).
        expect(load(picked!, now) / run.capacities[i]!).toBeCloseTo(expected.cost, 9);
      }
    },
  );

  test.prop([
    pool,
    fc.array(step, { maxLength: 60 }),
    fc.constantFrom<LoadMetricName>("in_flight", "ewma_latency"),
    scanUpTo,
  ])(
    "S5 least load with random_tie_break picks one of the scan's tied backends",
    (members, steps, metric, scanMaxBackends) => {
      const run = start(members, metric, true, scanMaxBackends);
      const load = loadFunction(metric, DECAY_MS);
      for (const s of steps) {
        const accept = apply(run, s);
        if (!accept) continue;
        const { tied } = scanLeastLoad(run.backends, run.capacities, load, run.clock.now(), accept);
        const picked = run.picker.pick(accept, context);
        if (tied.length === 0) expect(picked).toBeUndefined();
        else expect(tied.map((i) => run.backends[i])).toContain(picked);
      }
    },
  );

  it("S5 S6 least load with peak-EWMA ranks by in-flight again once the peaks have decayed to the floor", () => {
    const run = start(
      [
        { weight: 1, factor: 1 },
        { weight: 1, factor: 1 },
        { weight: 1, factor: 1 },
      ],
      "peak_ewma",
      false,
    );
    const [slow, busy, idle] = run.backends as [BackendState, BackendState, BackendState];
    idle.inFlight = 2;
    busy.inFlight = 1;
    recordLatency(busy, 2, run.clock.now(), DECAY_MS);
    recordLatency(slow, 300, run.clock.now(), DECAY_MS);
    // Costs now: slow 300, busy 4, idle 3 (the floor, 1 ms, times in flight + 1).
    expect(run.picker.pick((b) => b !== idle, context)).toBe(busy);
    run.clock.advance(80_000);
    // Both peaks are below 1 ms: slow costs 1, busy 2.
    expect(run.picker.pick((b) => b !== idle, context)).toBe(slow);
  });
});
