/**
 * Least load (behaviour.md S5): the accepted backend with the lowest load / capacity, where
 * load is the configured metric (in-flight by default, or latency EWMA / peak-EWMA, see
 * load/load-metric.ts) and capacity is max_connections, or the weight when max_connections is
 * 0 (slow start scales it down). Ties go to the first backend in registration order, or, with
 * `random_tie_break`, to a uniform choice among the tied (reservoir sampling, one pass).
 * A NaN load is never chosen; when every accepted load is NaN the picker yields nothing.
 * Why: the most direct answer to "who is least busy?" when the balancer sees every call's
 * outcome; O(n) per pick, so for large pools prefer power_of_two.
 * Settings: `metric` (in_flight | ewma_latency | peak_ewma), `random_tie_break`.
 * Source: Envoy LEAST_REQUEST with choice_count = all hosts; nginx `least_conn`.
 */
import type { Clock } from "../../shared/clock.js";
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import { registeredCapacity } from "../capacity.js";
import { DEFAULT_LATENCY_DECAY_MS } from "../load/latency-estimate.js";
import { type LoadFunction, loadFunction, metricReadsClock } from "../load/load-metric.js";
import type { Accept, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { checkBoolean, checkMetric, metricSetting, unknownKeys } from "./settings.js";

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
    const metric = metricSetting(settings);
    return new LeastLoadPicker(pool, {
      load: loadFunction(metric, DEFAULT_LATENCY_DECAY_MS),
      clock: metricReadsClock(metric) ? deps.clock : undefined,
      random: settings.random_tie_break === true ? deps.random : undefined,
    });
  },
};

/** Least load over one pool. */
export class LeastLoadPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly capacities: readonly number[];

  constructor(
    pool: PickerPool,
    private readonly options: {
      readonly load: LoadFunction;
      /** Read once per pick when the metric needs the time. */
      readonly clock: Clock | undefined;
      /** Set for random tie-breaks; undefined for first-index ties. */
      readonly random: Random | undefined;
    },
  ) {
    this.backends = pool.backends;
    this.capacities = pool.capacities;
  }

  pick(accept: Accept): BackendState | undefined {
    const { load, clock, random } = this.options;
    const now = clock ? clock.now() : 0;
    let best: BackendState | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < this.backends.length; i++) {
      const backend = this.backends[i]!;
      if (!accept(backend)) continue;
      const value = load(backend, now) / this.capacities[i]!;
      if (Number.isNaN(value)) continue;
      if (best === undefined || value < bestLoad) {
        best = backend;
        bestLoad = value;
        ties = 1;
      } else if (value === bestLoad && random && random.next() * ++ties < 1) {
        best = backend;
      }
    }
    return best;
  }

  score(backend: BackendState): number {
    const now = this.options.clock ? this.options.clock.now() : 0;
    return this.options.load(backend, now) / registeredCapacity(backend);
  }
}
