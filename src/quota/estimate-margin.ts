/**
 * The admission margin learned from Reports (behaviour.md Q10). A Select's cost is often an
 * estimate (an LLM call's tokens before the call); its Report says what the call really used.
 * Admitting a cost that fits the last room of a window by its estimate gets a 429 upstream
 * whenever the real usage runs higher. So per service and dimension this keeps the last
 * `samples` ratios real / estimate and their `quantile` (p99 by default): a reserve must find
 * room for estimate x that factor (capped at `cap`), while it is still charged only the
 * estimate and trued up to the real usage at its Report.
 *
 * Why a quantile of recent ratios: it is what the margin is for (the share of calls whose
 * real usage may still overrun the room left, about 1 - quantile of those admitted into the
 * last room), it follows a client whose estimator changes within `samples` Reports, and an
 * outlier moves it by one rank only (an EWMA of the upper deviation would jump on it). It
 * costs one ring of doubles per service and dimension, and one sort of that ring every
 * `samples / REFRESHES_PER_RING` Reports. Per service, not per backend: the estimator is the
 * client's, and every backend's Reports teach it.
 *
 * With replicas, each learns from the Reports it sees and passes its factor with the reserve
 * (the Lua takes it as an argument): replicas behind one load balancer see alike Reports.
 */
import type { Reservation } from "./quota-limiter.js";

/** quota.estimateMargin: `off` needs room for the cost only; `learned` for cost x the learned factor. */
export interface EstimateMarginSettings {
  readonly mode: "off" | "learned";
  /** The quantile of real / estimate taken as the factor, in (0, 1]. */
  readonly quantile: number;
  /** The largest factor, >= 1. */
  readonly cap: number;
  /** Reports per service and dimension the factor is learned from (the ring's size). */
  readonly samples: number;
}

/** The defaults (docs/quota.md: what they gave on the llm-pool bench). */
export const DEFAULT_ESTIMATE_MARGIN: EstimateMarginSettings = {
  mode: "learned",
  quantile: 0.99,
  cap: 2,
  samples: 200,
};

/** The largest ring (quota.estimateMargin.samples): 80 KB per service and dimension. */
export const MAX_MARGIN_SAMPLES = 10_000;

/** Services whose factors are kept at once; past it the one learned first is forgotten. */
export const MAX_MARGIN_SERVICES = 10_000;

/** How often per ring length the factor is sorted out again. */
const REFRESHES_PER_RING = 16;

/** The last ratios of one dimension, and the factor they give. */
class RatioRing {
  private readonly ratios: Float64Array;
  private count = 0;
  private next = 0;
  private sinceSorted = 0;
  factor = 1;

  constructor(
    private readonly settings: EstimateMarginSettings,
    private readonly refreshEvery: number,
  ) {
    this.ratios = new Float64Array(settings.samples);
  }

  add(ratio: number): void {
    this.ratios[this.next] = ratio;
    this.next = (this.next + 1) % this.ratios.length;
    this.count = Math.min(this.count + 1, this.ratios.length);
    // The first refreshEvery Reports each count (a sort of at most refreshEvery ratios); then
    // every refreshEvery Reports, so filling a large ring costs a few sorts, not one per Report.
    if (++this.sinceSorted >= this.refreshEvery || this.count <= this.refreshEvery) this.refresh();
  }

  private refresh(): void {
    this.sinceSorted = 0;
    const sorted = this.ratios.slice(0, this.count).sort();
    const rank = Math.min(this.count, Math.max(1, Math.ceil(this.settings.quantile * this.count)));
    this.factor = Math.min(this.settings.cap, Math.max(1, sorted[rank - 1]!));
  }
}

/** Learned factors per service and dimension. */
export class EstimateMargins {
  private readonly services = new Map<string, Map<string, RatioRing>>();
  /** Per service, its dimensions' factors as ReserveOptions.margin takes them (kept up to date). */
  private readonly factors = new Map<string, Record<string, number>>();
  private readonly refreshEvery: number;

  constructor(private readonly settings: EstimateMarginSettings = DEFAULT_ESTIMATE_MARGIN) {
    this.refreshEvery = Math.max(1, Math.ceil(settings.samples / REFRESHES_PER_RING));
  }

  /** The factors to reserve with on `service`; undefined when off or nothing is learned yet. */
  marginOf(service: string): Readonly<Record<string, number>> | undefined {
    return this.factors.get(service);
  }

  /**
   * A Report of a successful call (the gate passes no other: a failed or cut-off call's usage
   * falls short of a whole call's): per reserved dimension with an estimate (amount > 0) and a
   * real figure in `usage`, one ratio real / estimate.
   */
  observe(service: string, reservation: Reservation, usage: Readonly<Record<string, number>>): void {
    if (this.settings.mode === "off") return;
    for (const { spec, amount } of reservation.dimensions) {
      const actual = usage[spec.dimension];
      if (!(amount > 0) || actual === undefined || !Number.isFinite(actual) || actual < 0) continue;
      const ring = this.ringOf(service, spec.dimension);
      ring.add(actual / amount);
      this.factors.get(service)![spec.dimension] = ring.factor;
    }
  }

  private ringOf(service: string, dimension: string): RatioRing {
    let rings = this.services.get(service);
    if (!rings) {
      if (this.services.size >= MAX_MARGIN_SERVICES) this.forgetOldest();
      rings = new Map();
      this.services.set(service, rings);
      // No prototype: a dimension is any name a Register gave, `__proto__` included.
      this.factors.set(service, Object.create(null));
    }
    let ring = rings.get(dimension);
    if (!ring) {
      ring = new RatioRing(this.settings, this.refreshEvery);
      rings.set(dimension, ring);
    }
    return ring;
  }

  private forgetOldest(): void {
    const oldest = this.services.keys().next().value;
    if (oldest === undefined) return;
    this.services.delete(oldest);
    this.factors.delete(oldest);
  }
}
