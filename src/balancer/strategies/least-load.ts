/**
 * Least load (behaviour.md S5): the accepted backend with the lowest load / capacity, where
 * load is the configured metric (in-flight by default, or latency EWMA / peak-EWMA, see
 * load/load-metric.ts) and capacity is max_connections, or the weight when max_connections is
 * 0 (slow start scales it down). Ties go to the first backend in registration order, or, with
 * `random_tie_break`, to a uniform choice among the tied (reservoir sampling, one pass).
 * A NaN load is never chosen; when every accepted load is NaN the picker yields nothing.
 * Why: the most direct answer to "who is least busy?" when the balancer sees every call's
 * outcome. The pool's backends are kept in load order (load/load-index.ts: an indexed heap
 * that every change of a backend's load updates in O(log n)), so a pick is O(1) without a
 * request filter and, with one, costs only the better-ranked backends it rejects; a random
 * tie-break visits the tied ones. Pools of at most SCAN_MAX_BACKENDS are scanned per pick
 * instead: a scan of a few backends costs less than keeping a heap through every load change
 * (two per call), and it is the order the index reproduces, so both answer alike.
 * Settings: `metric` (in_flight | ewma_latency | peak_ewma), `random_tie_break`.
 * Source: Envoy LEAST_REQUEST with choice_count = all hosts; nginx `least_conn`.
 */
import type { Clock } from "../../shared/clock.js";
import type { Random } from "../../shared/random.js";
import { type BackendState, totalInFlight } from "../backend-state.js";
import { registeredCapacity } from "../capacity.js";
import { DEFAULT_LATENCY_DECAY_MS } from "../load/latency-estimate.js";
import { type LoadIndex, loadIndex } from "../load/load-index.js";
import {
  type LoadFunction,
  type LoadMetricName,
  loadFunction,
  metricReadsClock,
} from "../load/load-metric.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { checkBoolean, checkMetric, metricSetting, unknownKeys } from "./settings.js";

/** Largest pool least_load scans per pick instead of keeping a load index. */
export const SCAN_MAX_BACKENDS = 16;

/** The `least_load` strategy. */
export const leastLoad: StrategyDefinition = {
  name: "least_load",
  usesHashKey: false,
  usesEffectiveWeights: true,
  validate(settings) {
    const problems = unknownKeys("least_load", settings, ["metric", "random_tie_break"]);
    checkMetric(settings, problems);
    checkBoolean(settings, "random_tie_break", problems);
    return problems;
  },
  create(pool, settings, deps) {
    return new LeastLoadPicker(pool, {
      metric: metricSetting(settings),
      decayMs: DEFAULT_LATENCY_DECAY_MS,
      clock: deps.clock,
      random: settings.random_tie_break === true ? deps.random : undefined,
      scanMaxBackends: SCAN_MAX_BACKENDS,
    });
  },
};

/** Least load over one pool: a scan for small pools, else a LoadIndex that follows the backends' loads. */
export class LeastLoadPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly capacities: readonly number[];
  /** Undefined when the pool is scanned per pick. */
  private readonly index: LoadIndex | undefined;
  /** The request's filter, read by `acceptSlot` (set per pick: no closure per request). */
  private accept: Accept = ACCEPT_ALL;
  private readonly acceptSlot = (slot: number): boolean => this.accept(this.backends[slot]!);
  private readonly acceptAll = (): boolean => true;
  private readonly load: LoadFunction;

  constructor(
    pool: PickerPool,
    private readonly options: {
      readonly metric: LoadMetricName;
      readonly decayMs: number;
      readonly clock: Clock;
      /** Set for random tie-breaks; undefined for first-index ties. */
      readonly random: Random | undefined;
      /** Pools of at most this many backends are scanned per pick (SCAN_MAX_BACKENDS). */
      readonly scanMaxBackends: number;
    },
  ) {
    this.backends = pool.backends;
    this.capacities = pool.capacities;
    this.load = loadFunction(options.metric, options.decayMs);
    this.index =
      pool.backends.length > options.scanMaxBackends
        ? loadIndex(pool, options.metric, options.decayMs, options.clock)
        : undefined;
  }

  pick(accept: Accept): BackendState | undefined {
    const { clock, random, metric } = this.options;
    const now = metricReadsClock(metric) ? clock.now() : 0;
    if (!this.index) return this.scan(accept, now, random);
    this.accept = accept;
    const filter = accept === ACCEPT_ALL ? this.acceptAll : this.acceptSlot;
    const slot = random ? this.index.sample(filter, now, random) : this.index.first(filter, now);
    this.accept = ACCEPT_ALL;
    return slot < 0 ? undefined : this.backends[slot];
  }

  /** The accepted backend with the lowest load / capacity (NaN never); ties: the first, or reservoir sampling. */
  private scan(accept: Accept, now: number, random: Random | undefined): BackendState | undefined {
    const { backends, capacities, load } = this;
    // The default metric read directly: a static call the JIT inlines, not one through `load`.
    const inFlight = this.options.metric === "in_flight";
    let best = -1;
    let bestCost = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i]!;
      if (accept !== ACCEPT_ALL && !accept(backend)) continue;
      const cost = (inFlight ? totalInFlight(backend) : load(backend, now)) / capacities[i]!;
      if (cost < bestCost || (best < 0 && cost === bestCost)) {
        best = i;
        bestCost = cost;
        ties = 1;
      } else if (cost === bestCost && random && random.next() * ++ties < 1) best = i;
    }
    return best < 0 ? undefined : backends[best];
  }

  score(backend: BackendState): number {
    const now = metricReadsClock(this.options.metric) ? this.options.clock.now() : 0;
    return this.load(backend, now) / registeredCapacity(backend);
  }

  dispose(): void {
    this.index?.dispose();
  }
}
