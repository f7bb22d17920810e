/**
 * The degraded guarantee when the shared store is down (behaviour.md Q6, docs/quota.md):
 * a QuotaLimiter that uses `primary` (Redis, shared by every replica) while it answers and,
 * when it fails, a `local` limiter (in memory) with every limit cut to `localShare` of
 * itself. With N replicas and localShare = 1 / N, the replicas together stay within the
 * limit while Redis is away, each on its own budget, with no coordination; in the window
 * where Redis fails, what was already admitted through it is not seen locally, so that one
 * window can admit up to one extra limit. After a failure the primary is left alone for
 * `retryPrimaryAfterMs` (of the callers' clock), then tried again.
 *
 * The operator's failure mode (state.quota.failureMode, docs/state.md) says what a primary
 * failure means: `l1Only` (default) is the local budget above; `retry` tries the primary
 * again (`attempts` tries in all, backing off) before that; `error` refuses instead
 * (UNAVAILABLE, fail closed: nothing is admitted that Redis did not count) and tries the
 * primary again at every call.
 *
 * Reservations remember where they were made (`origin`) and settle there. Settling a
 * primary reservation while the primary is down is skipped (its charge stays until its
 * window passes: the safe side) and reported to `onPrimaryError`. A RATE_LIMITED mark goes
 * to both, so it holds through a failover.
 */
import { type FailureMode, runWithRetry } from "../cache/failure-mode.js";
import type { QuotaLimitSpec } from "../model/specs.js";
import { type Clock, systemClock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import { type Random, systemRandom } from "../shared/random.js";
import { trueUpDeltas } from "./quota-cost.js";
import type {
  BackendQuotaKey,
  CheckResult,
  HeldUsage,
  QuotaLimiter,
  QuotaReport,
  Reservation,
  ReserveOptions,
  ReserveResult,
} from "./quota-limiter.js";
import type { QuotaStatus } from "./quota-status.js";

/** How long to stay on local budgets after the primary failed, before trying it again. */
export const DEFAULT_RETRY_PRIMARY_AFTER_MS = 1_000;

/** The `origin` of reservations made by the local limiter. */
export const LOCAL_ORIGIN = "local";

/** Options of the failover limiter. */
export interface FailoverQuotaLimiterOptions {
  readonly primary: QuotaLimiter;
  readonly local: QuotaLimiter;
  /** Share of each limit this replica uses on its own while the primary is down: 1 / replicas. */
  readonly localShare: number;
  readonly retryPrimaryAfterMs: number;
  /** Told of every primary failure (for logs and metrics); must not throw. */
  readonly onPrimaryError: (error: unknown) => void;
  /** What a primary failure does; default l1Only (the local budget). */
  readonly failureMode: FailureMode;
  /** Waits between the tries of `retry`, and times a failed call (the pause counts from its failure). */
  readonly clock: Clock;
  readonly random: Random;
}

/** Where answers came from, for /metrics (L2: the primary; L1: the local budget). */
export interface FailoverCounters {
  l2Hits: number;
  l2Errors: number;
  l2Retries: number;
  l1Hits: number;
  refused: number;
}

/** The limits a replica enforces on its own: each cut to `share` of itself. */
export function localLimits(limits: readonly QuotaLimitSpec[], share: number): QuotaLimitSpec[] {
  return limits.map((spec) => ({ ...spec, limit: spec.limit * share }));
}

/** QuotaLimiter over a shared primary with per-replica local budgets as fallback. */
export class FailoverQuotaLimiter implements QuotaLimiter {
  private readonly options: FailoverQuotaLimiterOptions;
  private primaryDownUntilMs = Number.NEGATIVE_INFINITY;
  /** Counters since start. */
  readonly counters: FailoverCounters = { l2Hits: 0, l2Errors: 0, l2Retries: 0, l1Hits: 0, refused: 0 };

  constructor(
    options: Partial<FailoverQuotaLimiterOptions> & Pick<FailoverQuotaLimiterOptions, "primary" | "local">,
  ) {
    const localShare = options.localShare ?? 1;
    if (!(localShare > 0 && localShare <= 1))
      throw new Error(`localShare must be in (0, 1], got ${localShare}`);
    this.options = {
      ...options,
      localShare,
      retryPrimaryAfterMs: options.retryPrimaryAfterMs ?? DEFAULT_RETRY_PRIMARY_AFTER_MS,
      onPrimaryError: options.onPrimaryError ?? (() => {}),
      failureMode: options.failureMode ?? { kind: "l1Only" },
      clock: options.clock ?? systemClock,
      random: options.random ?? systemRandom,
    };
  }

  /** True while the primary is being left alone after a failure. */
  degraded(nowMs: number): boolean {
    return nowMs < this.primaryDownUntilMs;
  }

  reserve(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
    options?: ReserveOptions,
  ): Promise<ReserveResult> {
    return this.either(
      nowMs,
      (p) => p.reserve(key, limits, cost, nowMs, options),
      async (l, share) => {
        const result = await l.reserve(key, localLimits(limits, share), cost, nowMs, options);
        return result.ok
          ? { ...result, reservation: { ...result.reservation, origin: LOCAL_ORIGIN } }
          : result;
      },
    );
  }

  check(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<CheckResult> {
    return this.either(
      nowMs,
      (p) => p.check(key, limits, cost, nowMs),
      (l, share) => l.check(key, localLimits(limits, share), cost, nowMs),
    );
  }

  async trueUp(
    reservation: Reservation,
    usage: Readonly<Record<string, number>>,
    nowMs: number,
    held?: HeldUsage,
  ): Promise<QuotaReport> {
    const { local, primary } = this.options;
    if (reservation.origin === LOCAL_ORIGIN) return local.trueUp(reservation, usage, nowMs, held);
    const ignored = trueUpDeltas(reservation, usage).ignored;
    return this.settlePrimary(() => primary.trueUp(reservation, usage, nowMs, held), nowMs, ignored);
  }

  async release(reservation: Reservation, nowMs: number): Promise<QuotaReport> {
    if (reservation.origin === LOCAL_ORIGIN) return this.options.local.release(reservation, nowMs);
    return this.settlePrimary(() => this.options.primary.release(reservation, nowMs), nowMs, []);
  }

  async markExhausted(key: BackendQuotaKey, untilMs: number, nowMs: number): Promise<void> {
    await this.options.local.markExhausted(key, untilMs, nowMs);
    if (this.degraded(nowMs)) return;
    const startedAt = this.options.clock.now();
    await this.options.primary
      .markExhausted(key, untilMs, nowMs)
      .catch((error) => this.failed(error, nowMs, startedAt));
  }

  correct(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    upstreamRemaining: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport & { status: QuotaStatus }> {
    return this.either(
      nowMs,
      (p) => p.correct(key, limits, upstreamRemaining, nowMs),
      (l, share) => l.correct(key, localLimits(limits, share), upstreamRemaining, nowMs),
    );
  }

  remaining(key: BackendQuotaKey, limits: readonly QuotaLimitSpec[], nowMs: number): Promise<QuotaStatus> {
    return this.either(
      nowMs,
      (p) => p.remaining(key, limits, nowMs),
      (l, share) => l.remaining(key, localLimits(limits, share), nowMs),
    );
  }

  private async either<T>(
    nowMs: number,
    onPrimary: (primary: QuotaLimiter) => Promise<T>,
    onLocal: (local: QuotaLimiter, share: number) => Promise<T>,
  ): Promise<T> {
    const { failureMode, primary } = this.options;
    if (failureMode.kind === "error" || !this.degraded(nowMs)) {
      const startedAt = this.options.clock.now();
      try {
        const answer = await runWithRetry(() => onPrimary(primary), {
          mode: failureMode,
          clock: this.options.clock,
          random: this.options.random,
          onFailure: (_error, _attempt, willRetry) => {
            if (willRetry) this.counters.l2Retries++;
          },
        });
        this.counters.l2Hits++;
        return answer;
      } catch (error) {
        this.failed(error, nowMs, startedAt);
        if (failureMode.kind === "error") throw this.refusal(error);
      }
    }
    this.counters.l1Hits++;
    return onLocal(this.options.local, this.options.localShare);
  }

  private refusal(cause: unknown): FulcrumError {
    this.counters.refused++;
    return new FulcrumError(
      "unavailable",
      "quota: the shared quota store is unavailable and state.quota.failureMode is error: refused (fail closed); retry",
      {},
      { cause },
    );
  }

  private async settlePrimary(
    settle: () => Promise<QuotaReport>,
    nowMs: number,
    ignored: readonly string[],
  ): Promise<QuotaReport> {
    if (!this.degraded(nowMs)) {
      const startedAt = this.options.clock.now();
      try {
        return await settle();
      } catch (error) {
        this.failed(error, nowMs, startedAt);
      }
    }
    return { status: undefined, ignored };
  }

  /**
   * The primary failed a call made at `nowMs` (the caller's time) that started at `startedAt`
   * (the clock's). It is left alone for retryPrimaryAfterMs from when the failure was seen, not
   * from the call's start: a stalled Redis fails a call only at the command timeout (1 s by
   * default), and counting from the start would end the pause as it begins, so every call
   * would wait out the timeout again.
   */
  private failed(error: unknown, nowMs: number, startedAt: number): void {
    this.counters.l2Errors++;
    const seenAt = nowMs + Math.max(0, this.options.clock.now() - startedAt);
    this.primaryDownUntilMs = seenAt + this.options.retryPrimaryAfterMs;
    try {
      this.options.onPrimaryError(error);
    } catch {
      // A hook never breaks the request path.
    }
  }
}
