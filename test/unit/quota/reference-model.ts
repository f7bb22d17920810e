/**
 * A straightforward reference model of one backend's quota, for property tests: as plain
 * as possible and computed differently from src/quota/ so the two can check each other.
 *
 * - Windows keep a ledger of every charge (bucket, units, reservation) and find buckets with
 *   exact BigInt arithmetic; usage is the sum of the ledger entries still in the window.
 * - The token bucket is GCRA in its theoretical-arrival-time form, in exact BigInt (times
 *   scaled by the limit), rather than the implementation's drained level.
 * - Retry-after is found by searching time for the first millisecond the cost fits, not by
 *   a formula.
 * Whole-number limits, costs and milliseconds only; time never goes backwards.
 */
import type { QuotaLimitSpec } from "../../../src/model/specs.js";

interface DimensionModel {
  usage(t: number): number;
  fits(t: number, units: number): boolean;
  charge(t: number, units: number, reservation?: number): void;
  /** Usage above a reservation made at `chargedAt`, settled at `t`. */
  chargeLate(chargedAt: number, t: number, units: number): void;
  refund(reservation: number, chargedAt: number, t: number, units: number): void;
  raiseTo(t: number, usage: number): void;
  /** A reservation's charge at `t`, which the upstream counts up to `lagMs` later (Q9). */
  reserveCharge(t: number, lagMs: number, units: number, reservation: number): void;
  /** Usage held from `t` for `holdMs` (Q9). */
  hold(t: number, holdMs: number, units: number): void;
}

class WindowModel implements DimensionModel {
  private readonly ledger: { bucket: bigint; units: number; reservation?: number }[] = [];
  private readonly buckets: bigint;

  constructor(private readonly spec: QuotaLimitSpec) {
    this.buckets = BigInt(spec.algorithm === "fixed_window" ? 1 : spec.buckets);
  }

  private bucketOf(t: number): bigint {
    return (BigInt(t) * this.buckets) / BigInt(this.spec.windowMs);
  }

  /** Charges go into the next bucket (sliding-window.ts chargeIndex), except with one bucket. */
  private chargeBucketOf(t: number): bigint {
    return this.bucketOf(t) + (this.buckets > 1n ? 1n : 0n);
  }

  private live(t: number) {
    const oldest = this.bucketOf(t) - this.buckets;
    return this.ledger.filter((entry) => entry.bucket > oldest);
  }

  usage(t: number): number {
    return this.live(t).reduce((sum, entry) => sum + entry.units, 0);
  }

  fits(t: number, units: number): boolean {
    return this.usage(t) + units <= this.spec.limit;
  }

  charge(t: number, units: number, reservation?: number): void {
    this.ledger.push({ bucket: this.chargeBucketOf(t), units, reservation });
  }

  reserveCharge(t: number, lagMs: number, units: number, reservation: number): void {
    this.charge(t + lagMs, units, reservation);
  }

  chargeLate(chargedAt: number, t: number, units: number): void {
    const bucket = this.chargeBucketOf(Math.min(chargedAt, t));
    if (bucket > this.bucketOf(t) - this.buckets) this.ledger.push({ bucket, units });
  }

  refund(reservation: number, chargedAt: number, t: number, units: number): void {
    const bucket = this.chargeBucketOf(chargedAt);
    const entry = this.live(t).find((e) => e.reservation === reservation && e.bucket === bucket);
    if (entry) entry.units = Math.max(0, entry.units - units);
  }

  raiseTo(t: number, usage: number): void {
    const current = this.usage(t);
    if (usage > current) this.charge(t, usage - current);
  }

  /** The first millisecond at which `bucket` is out of the window. */
  private leavesAt(bucket: bigint): bigint {
    const scaled = (bucket + this.buckets) * BigInt(this.spec.windowMs);
    return (scaled + this.buckets - 1n) / this.buckets;
  }

  /** The oldest live bucket that leaves no earlier than t + holdMs, at most a charge at t's bucket. */
  hold(t: number, holdMs: number, units: number): void {
    let bucket = this.bucketOf(t) - this.buckets + 1n;
    const newest = this.chargeBucketOf(t);
    while (bucket < newest && this.leavesAt(bucket) < BigInt(t + holdMs)) bucket++;
    this.ledger.push({ bucket, units });
  }
}

class GcraModel implements DimensionModel {
  /** Theoretical arrival time x limit (so one unit is windowMs of it). */
  private tat = 0n;
  private readonly limit: bigint;
  private readonly windowMs: bigint;

  constructor(spec: QuotaLimitSpec) {
    this.limit = BigInt(spec.limit);
    this.windowMs = BigInt(spec.windowMs);
  }

  private scaledLevel(t: number): bigint {
    const level = this.tat - BigInt(t) * this.limit;
    return level > 0n ? level : 0n;
  }

  usage(t: number): number {
    return Number(this.scaledLevel(t)) / Number(this.windowMs);
  }

  fits(t: number, units: number): boolean {
    return this.scaledLevel(t) + BigInt(units) * this.windowMs <= this.limit * this.windowMs;
  }

  chargeLate(_chargedAt: number, t: number, units: number): void {
    this.charge(t, units);
  }

  reserveCharge(t: number, _lagMs: number, units: number): void {
    this.charge(t, units);
  }

  charge(t: number, units: number): void {
    const now = BigInt(t) * this.limit;
    this.tat = (this.tat > now ? this.tat : now) + BigInt(units) * this.windowMs;
  }

  refund(_reservation: number, _chargedAt: number, t: number, units: number): void {
    const now = BigInt(t) * this.limit;
    const back = this.tat - BigInt(units) * this.windowMs;
    this.tat = back > now ? back : now;
  }

  raiseTo(t: number, usage: number): void {
    const target = BigInt(t) * this.limit + BigInt(usage) * this.windowMs;
    if (target > this.tat) this.tat = target;
  }

  hold(t: number, _holdMs: number, units: number): void {
    this.charge(t, units);
  }
}

/** Usage held for a while at a true-up (Q9). */
export interface Held {
  readonly units: Record<string, number>;
  readonly holdMs: number;
}

/** A denial as the model sees it. */
export interface ModelDenial {
  reason: "limit" | "marked" | "cost_exceeds_limit";
  dimension: string;
  retryAfterMs: number;
}

/** The reference backend: its dimensions, RATE_LIMITED mark and outstanding reservations. */
export class ReferenceQuota {
  private readonly dims: DimensionModel[];
  private markedUntil = 0;
  private readonly reservations = new Map<number, { at: number; amounts: number[] }>();
  private nextId = 0;

  constructor(private readonly limits: readonly QuotaLimitSpec[]) {
    this.dims = limits.map((spec) =>
      spec.algorithm === "token_bucket" ? new GcraModel(spec) : new WindowModel(spec),
    );
  }

  amountsOf(cost: Record<string, number>): number[] {
    return this.limits.map((spec) => cost[spec.dimension] ?? (spec.dimension === "requests" ? 1 : 0));
  }

  private firstFit(dim: DimensionModel, now: number, units: number): number {
    let hi = 1;
    while (!dim.fits(now + hi, units)) hi *= 2;
    let lo = Math.floor(hi / 2); // does not fit at lo (or lo is 0, which was checked)
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (dim.fits(now + mid, units)) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** Q10: the room each dimension needs: amount x its factor above 1 in whole units, capped at the limit, never below the amount. */
  needsOf(amounts: number[], margin: Record<string, number>): number[] {
    return this.limits.map((spec, i) => {
      const factor = margin[spec.dimension] ?? 1;
      const amount = amounts[i]!;
      return factor > 1 && amount > 0
        ? Math.max(amount, Math.min(Math.ceil(amount * factor), spec.limit))
        : amount;
    });
  }

  denial(amounts: number[], now: number, needs = amounts): ModelDenial | undefined {
    const over = this.limits.findIndex((spec, i) => amounts[i]! > spec.limit);
    if (over >= 0)
      return {
        reason: "cost_exceeds_limit",
        dimension: this.limits[over]!.dimension,
        retryAfterMs: Infinity,
      };
    let worst: ModelDenial | undefined =
      this.markedUntil > now
        ? { reason: "marked", dimension: "*", retryAfterMs: this.markedUntil - now }
        : undefined;
    this.dims.forEach((dim, i) => {
      if (dim.fits(now, needs[i]!)) return;
      const retryAfterMs = this.firstFit(dim, now, needs[i]!);
      if (!worst || retryAfterMs > worst.retryAfterMs)
        worst = { reason: "limit", dimension: this.limits[i]!.dimension, retryAfterMs };
    });
    return worst;
  }

  /** Returns the denial enforcement gives and the reservation id when the cost was taken. */
  reserve(
    cost: Record<string, number>,
    now: number,
    shadow: boolean,
    lagMs = 0,
    margin: Record<string, number> = {},
  ): { denial?: ModelDenial; id?: number } {
    const amounts = this.amountsOf(cost);
    const denial = this.denial(amounts, now, this.needsOf(amounts, margin));
    if (denial && !shadow) return { denial };
    const id = this.nextId++;
    this.reservations.set(id, { at: now + lagMs, amounts });
    this.dims.forEach((dim, i) => {
      if (amounts[i]! > 0) dim.reserveCharge(now, lagMs, amounts[i]!, id);
    });
    return { denial, id };
  }

  trueUp(id: number, usage: Record<string, number>, now: number, held?: Held): void {
    const r = this.reservations.get(id)!;
    this.reservations.delete(id);
    this.dims.forEach((dim, i) => {
      const dimension = this.limits[i]!.dimension;
      const actual = usage[dimension];
      const delta = actual === undefined ? 0 : actual - r.amounts[i]!;
      if (delta > 0) dim.chargeLate(r.at, now, delta);
      else if (delta < 0) dim.refund(id, r.at, now, -delta);
      // After the true-up, as the limiters do: a refund never goes below 0, so the order counts.
      const units = held?.units[dimension] ?? 0;
      if (held && units > 0) dim.hold(now, held.holdMs, units);
    });
  }

  release(id: number, now: number): void {
    const usage = Object.fromEntries(this.limits.map((spec) => [spec.dimension, 0]));
    this.trueUp(id, usage, now);
  }

  mark(until: number): void {
    this.markedUntil = Math.max(this.markedUntil, until);
  }

  correct(remaining: Record<string, number>, now: number): void {
    this.dims.forEach((dim, i) => {
      const spec = this.limits[i]!;
      const upstream = remaining[spec.dimension];
      if (upstream !== undefined && spec.limit - upstream > 0) dim.raiseTo(now, spec.limit - upstream);
    });
  }

  usage(now: number): Record<string, number> {
    return Object.fromEntries(this.limits.map((spec, i) => [spec.dimension, this.dims[i]!.usage(now)]));
  }

  markedForMs(now: number): number {
    return Math.max(0, this.markedUntil - now);
  }
}
