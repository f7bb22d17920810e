/**
 * The QuotaLimiter in process memory (behaviour.md Q1-Q8): the embedded default of a single
 * replica, and the per-replica local budget of the failover limiter while Redis is away.
 * Every operation is synchronous inside, so "check all, then charge all" is atomic.
 * Time comes only from the `nowMs` arguments; states that stopped mattering are swept every
 * `sweepEveryOps` operations (using that operation's `nowMs`), so removed backends leave
 * nothing behind.
 */

import type { QuotaLimitSpec } from "../../model/specs.js";
import {
  type BackendQuota,
  checkResult,
  correctOn,
  denialOf,
  holdOn,
  reserveOn,
  reserveResult,
  settleOn,
  statusOf,
} from "../../quota/backend-quota.js";
import {
  type DimensionState,
  dimensionTtlMs,
  emptyState,
  isEmptyState,
  stateLayout,
} from "../../quota/dimension.js";
import {
  costAmounts,
  type HoldAmounts,
  holdAmounts,
  NO_HOLD,
  needAmounts,
  releaseDeltas,
  settlesNothing,
  trueUpDeltas,
  upstreamRemainingOf,
} from "../../quota/quota-cost.js";
import type {
  BackendQuotaKey,
  CheckResult,
  HeldUsage,
  QuotaLimiter,
  QuotaReport,
  Reservation,
  ReserveOptions,
  ReserveResult,
} from "../../quota/quota-limiter.js";
import type { QuotaStatus } from "../../quota/quota-status.js";

/** Operations between two sweeps of states that no longer matter. */
export const DEFAULT_QUOTA_SWEEP_EVERY_OPS = 1_024;

/** Options of the memory limiter. */
export interface MemoryQuotaLimiterOptions {
  readonly sweepEveryOps: number;
}

interface Entry {
  state: DimensionState;
  expiresAtMs: number;
}

const SEPARATOR = "\u0000";

function backendId(key: BackendQuotaKey): string {
  return `${key.service}${SEPARATOR}${key.backendId}`;
}

/** QuotaLimiter over maps in this process. */
export class MemoryQuotaLimiter implements QuotaLimiter {
  private readonly entries = new Map<string, Entry>();
  private readonly marks = new Map<string, number>();
  private readonly sweepEveryOps: number;
  private ops = 0;

  constructor(options: Partial<MemoryQuotaLimiterOptions> = {}) {
    this.sweepEveryOps = options.sweepEveryOps ?? DEFAULT_QUOTA_SWEEP_EVERY_OPS;
  }

  async reserve(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
    options: ReserveOptions = {},
  ): Promise<ReserveResult> {
    const { amounts, ignored } = costAmounts(limits, cost);
    const needs = needAmounts(limits, amounts, options.margin);
    const quota = this.load(key, limits, nowMs);
    const mode = options.mode ?? "enforce";
    const step = reserveOn(quota, key, amounts, nowMs, mode, options.upstreamLagMs, needs);
    if (step.reservation) this.save(key, quota, nowMs);
    return reserveResult(step, statusOf(quota, nowMs), ignored);
  }

  async check(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<CheckResult> {
    const { amounts, ignored } = costAmounts(limits, cost);
    const quota = this.load(key, limits, nowMs);
    return checkResult(denialOf(quota, amounts, nowMs), statusOf(quota, nowMs), ignored);
  }

  async trueUp(
    reservation: Reservation,
    usage: Readonly<Record<string, number>>,
    nowMs: number,
    held?: HeldUsage,
  ): Promise<QuotaReport> {
    const { amounts, ignored } = trueUpDeltas(reservation, usage);
    return { status: this.settle(reservation, amounts, nowMs, holdAmounts(reservation, held)), ignored };
  }

  async release(reservation: Reservation, nowMs: number): Promise<QuotaReport> {
    return { status: this.settle(reservation, releaseDeltas(reservation), nowMs), ignored: [] };
  }

  async markExhausted(key: BackendQuotaKey, untilMs: number, nowMs: number): Promise<void> {
    this.tick(nowMs);
    const id = backendId(key);
    if (untilMs > (this.marks.get(id) ?? 0)) this.marks.set(id, untilMs);
  }

  async correct(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    upstreamRemaining: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport & { status: QuotaStatus }> {
    const { values, ignored } = upstreamRemainingOf(limits, upstreamRemaining);
    const quota = this.load(key, limits, nowMs);
    correctOn(quota, values, nowMs);
    this.save(key, quota, nowMs);
    return { status: statusOf(quota, nowMs), ignored };
  }

  async remaining(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    nowMs: number,
  ): Promise<QuotaStatus> {
    return statusOf(this.load(key, limits, nowMs), nowMs);
  }

  /** Drops states and marks that no longer matter at `nowMs`. */
  sweep(nowMs: number): void {
    for (const [id, entry] of this.entries) if (entry.expiresAtMs <= nowMs) this.entries.delete(id);
    for (const [id, until] of this.marks) if (until <= nowMs) this.marks.delete(id);
  }

  /** States held (for tests: nothing is left behind). */
  size(): number {
    return this.entries.size + this.marks.size;
  }

  private settle(
    reservation: Reservation,
    deltas: readonly number[],
    nowMs: number,
    hold: HoldAmounts = NO_HOLD,
  ): QuotaStatus | undefined {
    if (settlesNothing(deltas, hold)) return undefined;
    const limits = reservation.dimensions.map((d) => d.spec);
    const quota = this.load(reservation.key, limits, nowMs);
    settleOn(quota, deltas, reservation.atMs, nowMs);
    holdOn(quota, hold, nowMs);
    this.save(reservation.key, quota, nowMs);
    return statusOf(quota, nowMs);
  }

  private stateId(key: BackendQuotaKey, spec: QuotaLimitSpec): string {
    return `${backendId(key)}${SEPARATOR}${spec.dimension}${SEPARATOR}${stateLayout(spec)}`;
  }

  private load(key: BackendQuotaKey, limits: readonly QuotaLimitSpec[], nowMs: number): BackendQuota {
    this.tick(nowMs);
    const states = limits.map((spec) => this.entries.get(this.stateId(key, spec))?.state ?? emptyState(spec));
    return { limits, states, markedUntilMs: this.marks.get(backendId(key)) ?? 0 };
  }

  private save(key: BackendQuotaKey, quota: BackendQuota, nowMs: number): void {
    quota.limits.forEach((spec, i) => {
      const id = this.stateId(key, spec);
      const state = quota.states[i]!;
      if (isEmptyState(state)) this.entries.delete(id);
      else this.entries.set(id, { state, expiresAtMs: nowMs + dimensionTtlMs(spec, state, nowMs) });
    });
  }

  private tick(nowMs: number): void {
    if (++this.ops % this.sweepEveryOps === 0) this.sweep(nowMs);
  }
}
