import { parseServiceConfig } from "../src/app/parse-service-config.js";
/**
 * `pick`: in-process picks per second for every strategy at 10, 1,000 and 10,000 backends,
 * each beside a loop returning `backends[i++ % n]` over the same array in the same run
 * (docs/performance.md). A pick is one call of the service's strategy chain on its snapshot pool
 * with no request filter: the part of Select a strategy owns. One extra row per size runs the
 * whole Select pipeline (selectFromSnapshot, round robin) for scale. Hash strategies rotate
 * over 1,024 keys; their flatness is a second comparison: picks at 10,000 vs 1,000 backends.
 * Targets: >= 0.25 x the loop for round robin, the weighted round robins, weighted random and
 * power of two; ring_hash, maglev, least_load and most_available flat (10k / 1k >= 0.75).
 * least_load's op also takes and releases in-flight slots, so its figure includes keeping its
 * load index up to date. Rendezvous is O(n) by design: reported without a target.
 * Measurements are capped at MAX_MEASURE_SECONDS: these loops run millions of times a second.
 */
import type { BackendState } from "../src/balancer/backend-state.js";
import { newBackendState } from "../src/balancer/backend-state.js";
import { FULL_QUOTA } from "../src/balancer/quota-view.js";
import { selectFromSnapshot } from "../src/balancer/select.js";
import { buildSnapshot, type Snapshot } from "../src/balancer/snapshot.js";
import { ACCEPT_ALL } from "../src/balancer/strategy.js";
import type { ServiceConfig } from "../src/model/specs.js";
import { Violations } from "../src/model/violations.js";
import { systemClock } from "../src/shared/clock.js";
import { systemRandom } from "../src/shared/random.js";
import { type Bench, type BenchOptions, type BenchRow, comparePairs, type Sample } from "./harness.js";

const NAME = "pick";
const SIZES = [10, 1_000, 10_000] as const;
const MAX_MEASURE_SECONDS = 0.5;
const MAX_WARMUP_SECONDS = 0.25;
const KEYS = Array.from({ length: 1_024 }, (_, i) => `key-${i}`);
/** Checking the time every this many operations keeps the clock out of the measurement. */
const BATCH = 4_096;
const LOOP_TARGET = 0.25;
const FLAT_TARGET = 0.75;
/** Picks between taking an in-flight slot and releasing it, in the `loaded` cases. */
const RELEASE_LAG = 64;

interface Case {
  readonly strategy: string;
  readonly target: number | null;
  readonly hashed: boolean;
  /** Target of the flatness row (10,000 vs 1,000 backends); no row when undefined. */
  readonly flat?: number | null;
  /** True when each pick also takes an in-flight slot and releases one taken earlier (load-aware strategies). */
  readonly loaded?: boolean;
  readonly note?: string;
}

const CASES: readonly Case[] = [
  { strategy: "round_robin", target: LOOP_TARGET, hashed: false },
  { strategy: "smooth_weighted", target: LOOP_TARGET, hashed: false },
  { strategy: "interleaved_weighted", target: LOOP_TARGET, hashed: false },
  { strategy: "random", target: null, hashed: false },
  { strategy: "weighted_random", target: LOOP_TARGET, hashed: false },
  { strategy: "power_of_two", target: LOOP_TARGET, hashed: false },
  {
    strategy: "least_load",
    target: null,
    hashed: false,
    flat: FLAT_TARGET,
    loaded: true,
    note: `each pick takes an in-flight slot and releases the one taken ${RELEASE_LAG} picks before: 1 pick + 2 load changes`,
  },
  { strategy: "most_available", target: null, hashed: false, flat: FLAT_TARGET },
  { strategy: "ring_hash", target: null, hashed: true, flat: FLAT_TARGET },
  { strategy: "maglev", target: null, hashed: true, flat: FLAT_TARGET },
  {
    strategy: "rendezvous",
    target: null,
    hashed: true,
    flat: null,
    note: "O(n) by design (highest random weight)",
  },
];

/** `n` healthy backends with weights 1, 2, 3, 1, 2, 3, ... */
function backends(n: number): BackendState[] {
  return Array.from({ length: n }, (_, i) =>
    newBackendState(
      {
        id: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`,
        address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:80`,
        host: `10.0.0.${i & 255}`,
        port: 80,
        weight: 1 + (i % 3),
        zone: "",
        tier: 0,
        labels: {},
        maxConnections: 0,
        quotas: [],
        healthCheck: undefined,
        leaseTtlMs: 0,
      },
      "healthy",
      0,
    ),
  );
}

function configFor(strategy: string): ServiceConfig {
  const base = parseServiceConfig(undefined, new Violations());
  return { ...base, strategy: { name: strategy, settings: {}, fallback: undefined } };
}

function snapshotFor(strategy: string, all: BackendState[]): Snapshot {
  return buildSnapshot(all, configFor(strategy), 1, { clock: systemClock, random: systemRandom });
}

/** Runs `op` in batches for `seconds`; the rate in operations per second. */
function run(seconds: number, op: () => BackendState | undefined): Sample {
  let operations = 0;
  let misses = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let now = start;
  while (now < end) {
    for (let i = 0; i < BATCH; i++) if (op() === undefined) misses++;
    operations += BATCH;
    now = performance.now();
  }
  if (misses > 0) throw new Error(`${misses} picks returned nothing`);
  return { rate: operations / ((now - start) / 1000) };
}

/** A pick of the snapshot's first pool, rotating hash keys when `hashed`. */
function picker(snapshot: Snapshot, c: Case): () => BackendState | undefined {
  const pool = snapshot.routes[0]!.pool;
  const context = { hashKey: c.hashed ? KEYS[0]! : "", quota: FULL_QUOTA, serviceInFlight: 0 };
  let k = 0;
  if (c.loaded) {
    const held: (BackendState | undefined)[] = new Array(RELEASE_LAG).fill(undefined);
    return () => {
      const picked = pool.pick(ACCEPT_ALL, context);
      const slot = k++ % RELEASE_LAG;
      const release = held[slot];
      if (release) release.inFlight--;
      if (picked) picked.inFlight++;
      held[slot] = picked;
      return picked;
    };
  }
  if (!c.hashed) return () => pool.pick(ACCEPT_ALL, context);
  return () => {
    context.hashKey = KEYS[k++ & 1023]!;
    return pool.pick(ACCEPT_ALL, context);
  };
}

/**
 * The baseline, `backends[i++ % n]`, with `i` wrapped at a multiple of n: past 2^31 an
 * unbounded counter becomes a double in V8 and the same loop ran 4.6 x slower for the rest of
 * the run (309 M -> 67 M picks/s at 10 backends after four rows), flattering every row after.
 */
function loop(all: BackendState[]): () => BackendState | undefined {
  const n = all.length;
  const wrapAt = n * Math.floor(2 ** 30 / n);
  let i = 0;
  return () => {
    const backend = all[i++ % n];
    if (i === wrapAt) i = 0;
    return backend;
  };
}

function selectOp(snapshot: Snapshot): () => BackendState | undefined {
  const query = { hashKey: "", exclude: [], zone: "", labels: {}, count: 1, explain: false };
  const context = { hashKey: "", quota: FULL_QUOTA, serviceInFlight: 0 };
  return () => {
    const decision = selectFromSnapshot(snapshot, query, context);
    return decision.kind === "picked" ? decision.backends[0] : undefined;
  };
}

/**
 * Calls `run` with several op functions before any row, so its `op()` call is megamorphic from
 * the start and stays a plain call for every row. Otherwise the op that warms `run` first (the
 * loop at 10 backends) could be inlined into it while every later op is called: the rows would
 * then compare an inlined loop with called picks, depending on the order of the rows.
 */
function settleMeasuringCall(): void {
  const all = backends(8);
  const shapes: (() => BackendState | undefined)[] = [
    () => all[0],
    () => all[1],
    () => all[2],
    () => all[3],
    () => all[4],
    () => all[5],
  ];
  for (let round = 0; round < 50; round++) for (const op of shapes) run(0.001, op);
}

function measureOf(op: () => BackendState | undefined, cap: number) {
  return async (seconds: number) => run(Math.min(seconds, cap), op);
}

async function runPick(options: BenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  settleMeasuringCall();
  const local: BenchOptions = {
    ...options,
    warmupSeconds: Math.min(options.warmupSeconds, MAX_WARMUP_SECONDS),
  };
  const flatOps = new Map<string, Map<number, () => BackendState | undefined>>();
  for (const n of SIZES) {
    const all = backends(n);
    const baseline = measureOf(loop(all), MAX_MEASURE_SECONDS);
    for (const c of CASES) {
      const op = picker(snapshotFor(c.strategy, all), c);
      if (c.flat !== undefined) flatOps.set(c.strategy, (flatOps.get(c.strategy) ?? new Map()).set(n, op));
      rows.push(
        await comparePairs(
          {
            bench: NAME,
            row: `${c.strategy}, ${n.toLocaleString("en-US")} backends`,
            subject: `${c.strategy} pick`,
            baseline: "backends[i++ % n]",
            unit: "picks/s",
            target: c.target,
            measureSubject: measureOf(op, MAX_MEASURE_SECONDS),
            measureBaseline: baseline,
            ...(c.note && { note: c.note }),
          },
          local,
        ),
      );
    }
    rows.push(
      await comparePairs(
        {
          bench: NAME,
          row: `Select pipeline (round_robin), ${n.toLocaleString("en-US")} backends`,
          subject: "selectFromSnapshot",
          baseline: "backends[i++ % n]",
          unit: "picks/s",
          target: null,
          measureSubject: measureOf(selectOp(snapshotFor("round_robin", all)), MAX_MEASURE_SECONDS),
          measureBaseline: baseline,
          note: "the whole pipeline with its answer object; for scale",
        },
        local,
      ),
    );
  }
  for (const c of CASES.filter((x) => x.flat !== undefined)) {
    const ops = flatOps.get(c.strategy)!;
    rows.push(
      await comparePairs(
        {
          bench: NAME,
          row: `${c.strategy} flatness, 10,000 vs 1,000 backends`,
          subject: `${c.strategy} pick at 10,000`,
          baseline: `${c.strategy} pick at 1,000`,
          unit: "picks/s",
          target: c.flat ?? null,
          measureSubject: measureOf(ops.get(10_000)!, MAX_MEASURE_SECONDS),
          measureBaseline: measureOf(ops.get(1_000)!, MAX_MEASURE_SECONDS),
          ...(c.note && { note: c.note }),
        },
        local,
      ),
    );
  }
  return rows;
}

/** The `pick` bench. */
export const pickBench: Bench = {
  name: NAME,
  description: "in-process picks per strategy at 10 / 1k / 10k backends vs backends[i++ % n]",
  run: runPick,
};
