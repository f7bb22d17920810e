/**
 * Most available (behaviour.md S8): the accepted backend with the highest remaining quota
 * ratio (min over its dimensions, as the QuotaView reports it), chosen uniformly at random
 * among every backend within `epsilon` (default 0.05) of the best, so that equal headroom does
 * not herd every caller onto the first one. Two passes (each ratio read once), no allocation;
 * a NaN ratio is never chosen. When no backend of the pool has limits (the view says each is
 * always full), every ratio is 1 and a pick is one uniform draw, O(1). Otherwise it reads every
 * accepted backend's ratio, O(n): the quota layer ages ratios continuously (windows slide,
 * buckets drain), so there is no order to keep without it telling the picker when each moves.
 * Why: spread quota-limited work (API keys, token budgets) so no backend runs dry while others
 * idle.
 * Settings: `epsilon` in [0, 1] (0, the proto zero value, means the default).
 * Source: behaviour.md S8 (the quota-aware strategy engine Fulcrum replaces); the uniform choice
 * among the near-best is reservoir sampling (Vitter, "Random Sampling with a Reservoir", 1985).
 */
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import type { QuotaView } from "../quota-view.js";
import {
  ACCEPT_ALL,
  type Accept,
  type PickContext,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { checkNumber, numberSetting, unknownKeys } from "./settings.js";

/** Uniform draws before a filtered pick without a quota layer falls back to one pass (uniform either way). */
export const UNIFORM_ATTEMPTS = 4;
/** Headroom slack within which backends count as equally good, when `epsilon` is unset. */
export const DEFAULT_EPSILON = 0.05;

/** The `most_available` strategy. */
export const mostAvailable: StrategyDefinition = {
  name: "most_available",
  usesHashKey: false,
  usesEffectiveWeights: false,
  validate(settings) {
    const problems = unknownKeys("most_available", settings, ["epsilon"]);
    checkNumber(settings, "epsilon", { min: 0, max: 1, integer: false }, problems);
    return problems;
  },
  create: (pool, settings, deps) =>
    new MostAvailablePicker(pool, numberSetting(settings, "epsilon", DEFAULT_EPSILON), deps.random),
};

/** Most available over one pool. */
export class MostAvailablePicker implements Picker {
  private readonly backends: readonly BackendState[];
  /** Each backend's ratio as read in this pick's first pass (read once: a view may age statuses). */
  private readonly ratios: Float64Array;
  /** The view `full` was worked out for (the balancer passes the same one every time). */
  private view: QuotaView | undefined;
  /** True when the view says every backend of the pool always has all its quota. */
  private full = false;

  constructor(
    pool: PickerPool,
    private readonly epsilon: number,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
    this.ratios = new Float64Array(pool.backends.length);
  }

  pick(accept: Accept, context: PickContext): BackendState | undefined {
    const quota = context.quota;
    if (quota !== this.view) {
      this.view = quota;
      this.full = this.backends.every((backend) => quota.alwaysFull?.(backend) === true);
    }
    if (this.full) return this.uniform(accept);
    const ratios = this.ratios;
    let best = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < this.backends.length; i++) {
      const ratio = accept(this.backends[i]!) ? quota.remainingRatio(this.backends[i]!) : Number.NaN;
      ratios[i] = ratio;
      if (ratio > best) best = ratio;
    }
    if (best === Number.NEGATIVE_INFINITY) return undefined;
    const floor = best - this.epsilon;
    let chosen: BackendState | undefined;
    let seen = 0;
    for (let i = 0; i < this.backends.length; i++) {
      if (ratios[i]! >= floor && this.random.next() * ++seen < 1) chosen = this.backends[i];
    }
    return chosen;
  }

  score(backend: BackendState, context: PickContext): number {
    return context.quota.remainingRatio(backend);
  }

  /**
   * Every ratio is 1, so every accepted backend is within epsilon of the best: a uniform draw,
   * retried a few times past rejected ones, then one pass over the accepted.
   */
  private uniform(accept: Accept): BackendState | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    for (let attempt = 0; attempt < UNIFORM_ATTEMPTS; attempt++) {
      const backend = this.backends[Math.floor(this.random.next() * n)]!;
      if (accept === ACCEPT_ALL || accept(backend)) return backend;
    }
    let chosen: BackendState | undefined;
    let seen = 0;
    for (const backend of this.backends) {
      if (accept(backend) && this.random.next() * ++seen < 1) chosen = backend;
    }
    return chosen;
  }
}
