/**
 * Power of two choices (behaviour.md S6): draw two distinct backends at random, take the one
 * with the lower load / capacity (the first drawn on a tie). The load metric is pluggable
 * (load/load-metric.ts): in-flight (default), latency EWMA, or peak-EWMA decayed on the
 * injected clock with `decay` (default 10 s).
 * Why: nearly the balance of least-load at O(1) per pick, and no herd on one "best" backend
 * when many balancers share stale load figures (Mitzenmacher's result: max load drops from
 * log n / log log n to log log n).
 * Filters: a pair needs two accepted backends with a non-NaN load; after P2C_ATTEMPTS draws a
 * lone usable backend is returned, and failing that a scan from a random start compares the
 * first two usable ones. A NaN load is never chosen.
 * Settings: `metric` (in_flight | ewma_latency | peak_ewma), `decay` (duration, `decay_ms`).
 * Sources: Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing" (2001);
 * tower `balance/p2c` and `load/peak_ewma.rs`; Finagle `P2CPeakEwma`.
 */

import { selectInt } from "../../shared/branchless.js";
import type { Clock } from "../../shared/clock.js";
import { MIN_RANDOM_BITS, type Random, randomInt } from "../../shared/random.js";
import type { BackendState, LoadWatcher } from "../backend-state.js";
import { registeredCapacity } from "../capacity.js";
import { DEFAULT_LATENCY_DECAY_MS } from "../load/latency-estimate.js";
import { type LoadFunction, loadFunction, metricReadsClock } from "../load/load-metric.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { checkMetric, checkNumber, metricSetting, numberSetting, unknownKeys } from "./settings.js";

/** Pair draws before a filtered pick falls back to a scan. */
export const P2C_ATTEMPTS = 4;
/**
 * A pool's pair comes from one draw (its integer part the first backend, its fraction the
 * second) while n^2 <= 2^(bits - ONE_DRAW_SPARE_BITS) for the draw's `bits` (Random.bits): the
 * fraction then keeps >= log2(n) + 12 bits and each pair's share is off by at most 2^-12 of
 * itself. With 32 bits that is up to 1,024 backends; with Math.random's 52, up to 2^20.
 * Larger pools draw twice.
 */
export const ONE_DRAW_SPARE_BITS = 12;
/**
 * Smallest pool whose in-flight loads are kept in an array by load watchers. Smaller pools read
 * their backends per pick: those few objects stay in cache, and every load change of a watched
 * backend costs a call more.
 */
export const LOAD_ARRAY_MIN_BACKENDS = 64;
/** Longest accepted `decay`, in ms (one day). */
export const MAX_DECAY_MS = 86_400_000;

/** The `power_of_two` strategy. */
export const powerOfTwo: StrategyDefinition = {
  name: "power_of_two",
  usesHashKey: false,
  usesEffectiveWeights: true,
  validate(settings) {
    const problems = unknownKeys("power_of_two", settings, ["metric", "decay_ms"]);
    checkMetric(settings, problems);
    checkNumber(settings, "decay_ms", { min: 1, max: MAX_DECAY_MS, integer: false, unit: "ms" }, problems);
    return problems;
  },
  create(pool, settings, deps) {
    const metric = metricSetting(settings);
    const decayMs = numberSetting(settings, "decay_ms", DEFAULT_LATENCY_DECAY_MS);
    return new PowerOfTwoPicker(pool, {
      load: loadFunction(metric, decayMs),
      clock: metricReadsClock(metric) ? deps.clock : undefined,
      random: deps.random,
      inFlight: metric === "in_flight",
      loadArrayMinBackends: LOAD_ARRAY_MIN_BACKENDS,
    });
  },
};

/** P2C over one pool. */
export class PowerOfTwoPicker implements Picker, LoadWatcher {
  private readonly backends: readonly BackendState[];
  private readonly capacities: readonly number[];
  /** True when every capacity is the same: loads are compared without dividing. */
  private readonly uniform: boolean;
  private readonly load: LoadFunction;
  private readonly random: Random;
  /** True when one draw picks the pair (ONE_DRAW_SPARE_BITS). */
  private readonly oneDraw: boolean;
  /**
   * In-flight metric: each backend's in-flight count (here and elsewhere), divided by its
   * capacity unless every capacity is the same, by pool index, kept by load watchers, so the
   * common pick reads two numbers from one array instead of two backend objects scattered in
   * memory and their capacities (the cost of a pick in a pool of thousands). Undefined below
   * LOAD_ARRAY_MIN_BACKENDS and once disposed: picks then read the backends.
   */
  private inFlightLoads: Float64Array | undefined;
  private now = 0;

  constructor(
    pool: PickerPool,
    private readonly options: {
      readonly load: LoadFunction;
      readonly clock: Clock | undefined;
      readonly random: Random;
      /** True for the in-flight metric (the common pick reads no clock and calls nothing). */
      readonly inFlight: boolean;
      /** Pools of at least this many backends keep their in-flight loads in an array. */
      readonly loadArrayMinBackends: number;
    },
  ) {
    this.backends = pool.backends;
    this.capacities = pool.capacities;
    this.uniform = pool.capacities.every((c) => c === pool.capacities[0]);
    this.load = options.load;
    this.random = options.random;
    const bits = options.random.bits ?? MIN_RANDOM_BITS;
    this.oneDraw = pool.backends.length ** 2 <= 2 ** (bits - ONE_DRAW_SPARE_BITS);
    if (!options.inFlight || pool.backends.length < options.loadArrayMinBackends) return;
    this.inFlightLoads = new Float64Array(pool.backends.length);
    pool.backends.forEach((backend, slot) => {
      backend.watchLoad(this, slot);
      this.loadChanged(slot);
    });
  }

  loadChanged(slot: number): void {
    this.inFlightLoads![slot] = this.inFlightAt(slot);
  }

  /** In flight here and elsewhere, divided by the capacity unless every capacity is the same. */
  private inFlightAt(slot: number): number {
    const backend = this.backends[slot]!;
    const load = backend.inFlight + backend.remoteInFlight;
    return this.uniform ? load : load / this.capacities[slot]!;
  }

  /** The pool was replaced: stop following its backends' loads (picks then read the backends). */
  dispose(): void {
    if (!this.inFlightLoads) return;
    for (const backend of this.backends) backend.unwatchLoad(this);
    this.inFlightLoads = undefined;
  }

  pick(accept: Accept): BackendState | undefined {
    if (accept === ACCEPT_ALL && this.options.inFlight && this.backends.length > 1) {
      const picked = this.pickInFlight();
      if (picked) return picked;
    }
    return this.pickFiltered(accept);
  }

  /**
   * The common case (no filter, in-flight metric): one pair, no calls. Undefined only when a
   * load is NaN, which the general path handles.
   */
  private pickInFlight(): BackendState | undefined {
    const backends = this.backends;
    const n = backends.length;
    const scaled = this.random.next() * n;
    const first = Math.floor(scaled);
    let second = Math.floor((this.oneDraw ? scaled - first : this.random.next()) * (n - 1));
    second += +(second >= first); // skips `first` without a branch on the draw (shared/branchless.ts)
    const loads = this.inFlightLoads;
    if (loads) {
      const loadA = loads[first]!;
      const loadB = loads[second]!;
      if (Number.isNaN(loadA) || Number.isNaN(loadB)) return undefined;
      return backends[selectInt(loadB < loadA, second, first)];
    }
    // loadB / capB < loadA / capA, cross-multiplied: a division's latency was a fifth of this
    // pick. Capacities are > 0 (weight >= 1, max_connections >= 1, slow start keeps >= 1% of
    // either), so the order is the quotients' up to rounding.
    const a = backends[first]!;
    const b = backends[second]!;
    const capacities = this.capacities;
    // The two counts are summed here, not through totalInFlight: 24 vs 35 ns per pick at 10 backends.
    const weighedA = (a.inFlight + a.remoteInFlight) * capacities[second]!;
    const weighedB = (b.inFlight + b.remoteInFlight) * capacities[first]!;
    if (Number.isNaN(weighedA) || Number.isNaN(weighedB)) return undefined;
    return backends[selectInt(weighedB < weighedA, second, first)];
  }

  private pickFiltered(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (n <= 1) return n === 1 && this.usable(0, accept) ? this.backends[0] : undefined;
    const clock = this.options.clock;
    this.now = clock ? clock.now() : 0;
    const all = accept === ACCEPT_ALL;
    let lone = -1;
    for (let attempt = 0; attempt < P2C_ATTEMPTS; attempt++) {
      const first = Math.floor(this.random.next() * n);
      let second = Math.floor(this.random.next() * (n - 1));
      second += +(second >= first);
      const a = all || accept(this.backends[first]!) ? this.loadAt(first) : Number.NaN;
      const b = all || accept(this.backends[second]!) ? this.loadAt(second) : Number.NaN;
      const usableA = !Number.isNaN(a);
      const usableB = !Number.isNaN(b);
      if (usableA && usableB) return this.backends[b < a ? second : first];
      if (usableA) lone = first;
      else if (usableB) lone = second;
    }
    return lone >= 0 ? this.backends[lone] : this.scan(accept);
  }

  score(backend: BackendState): number {
    const now = this.options.clock ? this.options.clock.now() : 0;
    return this.options.load(backend, now) / registeredCapacity(backend);
  }

  private loadAt(index: number): number {
    const load = this.load(this.backends[index]!, this.now);
    return this.uniform ? load : load / this.capacities[index]!;
  }

  /** Accepted, with a load that is not NaN. */
  private usable(index: number, accept: Accept): boolean {
    return accept(this.backends[index]!) && !Number.isNaN(this.loadAt(index));
  }

  /** The index with the lower load; `first` on a tie. */
  private lower(first: number, second: number): number {
    return this.loadAt(second) < this.loadAt(first) ? second : first;
  }

  /** The better of the first two usable backends from a random start, or the only one. */
  private scan(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    const start = randomInt(this.random, n);
    let found = -1;
    for (let step = 0; step < n; step++) {
      const index = (start + step) % n;
      if (!this.usable(index, accept)) continue;
      if (found < 0) found = index;
      else return this.backends[this.lower(found, index)];
    }
    return found >= 0 ? this.backends[found] : undefined;
  }
}
