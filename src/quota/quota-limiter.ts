/**
 * The QuotaLimiter port (behaviour.md Q1-Q8): per-backend quotas over several dimensions,
 * declared by the core and implemented in store/ (memory: store/memory/memory-quota-limiter.ts;
 * Redis and Redis Cluster: store/redis/redis-quota-limiter.ts; Redis with a per-replica
 * local fallback: quota/failover-quota-limiter.ts).
 *
 * Time: every method takes `nowMs` from the caller's injected Clock (O2); implementations
 * never read a clock of their own, so tests drive quota windows with a ManualClock. Over
 * Redis this means replicas' clocks define the windows: keep them in sync (NTP); a replica
 * whose clock is s ms ahead sees buckets leave the window s ms early (see docs/quota.md).
 *
 * Every method resolves with the backend's `status` after the operation (what it has left
 * and how it recovers), so a caller can cache it per backend and answer the balancer's
 * synchronous questions (remainingRatio, recoveryMs in quota-status.ts) without another
 * round trip. Methods reject only on a storage failure (Redis down); they never throw for a
 * bad cost or usage value (see quota-cost.ts for how those read).
 */
import type { QuotaLimitSpec } from "../model/specs.js";
import type { QuotaStatus } from "./quota-status.js";

/** Whose quota: one backend of one service. */
export interface BackendQuotaKey {
  readonly service: string;
  readonly backendId: string;
}

/** One dimension of a reservation: the limit it was made under and the units it holds. */
export interface ReservedDimension {
  readonly spec: QuotaLimitSpec;
  readonly amount: number;
  /**
   * The dimension's usage right after this reservation was charged: what the upstream should
   * count when the call reaches it, if nothing unknown to Fulcrum used the backend (Q9).
   */
  readonly usageAfter: number;
}

/**
 * What a successful reserve holds, to be settled exactly once by `trueUp` or `release`
 * (the ticket book guarantees once; the limiter does not deduplicate). Plain JSON data: it
 * can travel inside a ticket or be stored anywhere.
 */
export interface Reservation {
  readonly key: BackendQuotaKey;
  /** The caller's clock at reserve time plus its upstreamLagMs: names the window buckets that were charged. */
  readonly atMs: number;
  /** Every limited dimension of the backend at reserve time (amount 0 included). */
  readonly dimensions: readonly ReservedDimension[];
  /** Which limiter holds it, for composite limiters (failover); undefined for a plain one. */
  readonly origin?: string;
}

/**
 * Q9: usage an upstream counted beyond what Fulcrum knew of when a call reached it, per
 * dimension, charged for `holdMs` only (window dimensions; a token bucket drains it as usual).
 * Most of it is calls Fulcrum admitted itself whose Reports are still coming, and those true
 * their own usage up; usage nobody reports is seen again in the next Report's `remaining`.
 */
export interface HeldUsage {
  readonly units: Readonly<Record<string, number>>;
  /** Whole ms, >= 0: the units leave the window this long from the true-up, or at most one bucket later. */
  readonly holdMs: number;
}

/** The denial `dimension` when the backend is marked exhausted by RATE_LIMITED (Q4). */
export const MARKED_DIMENSION = "*";

/**
 * Why a cost was refused: `limit` (a dimension is full; retry after it recovers), `marked`
 * (RATE_LIMITED retry_after holds, dimension MARKED_DIMENSION), `cost_exceeds_limit` (the
 * cost of one dimension is above its whole limit: it never fits, retryAfterMs is Infinity).
 */
export type DenialReason = "limit" | "marked" | "cost_exceeds_limit";

/** A refusal: which dimension and when the same cost would first fit (no other traffic). */
export interface QuotaDenial {
  readonly reason: DenialReason;
  readonly dimension: string;
  /** Whole milliseconds, >= 1; Infinity for cost_exceeds_limit. */
  readonly retryAfterMs: number;
}

/** What every operation reports back. */
export interface QuotaReport {
  /** The backend's quota after the operation; undefined when nothing was read (a no-op settle). */
  readonly status: QuotaStatus | undefined;
  /** Dimensions in the cost or usage the backend has no limit for: ignored, for the caller to count (Q8). */
  readonly ignored: readonly string[];
}

/** The decision on a cost without taking it (`check`). */
export type CheckResult = QuotaReport & { readonly status: QuotaStatus } & (
    | { readonly ok: true }
    | ({ readonly ok: false } & QuotaDenial)
  );

/** The outcome of `reserve`. */
export type ReserveResult = QuotaReport & { readonly status: QuotaStatus } & (
    | {
        readonly ok: true;
        readonly reservation: Reservation;
        /** Shadow mode only: the denial enforcement would have given (the cost was taken anyway). */
        readonly shadowDenial: QuotaDenial | undefined;
      }
    | ({ readonly ok: false } & QuotaDenial)
  );

/** `enforce` (default): take the cost only when every dimension fits. `shadow` (Q7): always take it, report what enforce would have said. */
export type ReserveMode = "enforce" | "shadow";

/** Options of `reserve`. */
export interface ReserveOptions {
  readonly mode?: ReserveMode;
  /**
   * Q9: how long after this reserve the upstream may count the call (the Select's answer, the
   * gateway, the network), whole ms >= 0, default 0. Window dimensions charge the bucket of
   * now + upstreamLagMs, so a unit never leaves Fulcrum's window before the upstream's.
   */
  readonly upstreamLagMs?: number;
  /**
   * Q10: per dimension, how far the upstream's real usage may run above this cost (a factor,
   * e.g. learned from Reports: estimate-margin.ts). The cost is admitted only where cost x
   * factor has room (needAmounts in quota-cost.ts), and a refusal's retryAfterMs is when it
   * has; only the cost is charged. A dimension without a factor, or one <= 1, needs its cost.
   */
  readonly margin?: Readonly<Record<string, number>>;
}

/** Per-backend quotas, atomically across every dimension of a backend. */
export interface QuotaLimiter {
  /**
   * Q3: takes `cost` on every limited dimension of the backend at once, or nothing. A
   * dimension missing from `cost` takes 0, except `requests`, which takes 1 (quota-cost.ts);
   * cost dimensions without a limit are ignored and listed in `ignored` (Q8). Refused while
   * the backend is marked (Q4) or when any dimension lacks room; `retryAfterMs` is when the
   * whole cost would first fit. A backend with no limits always admits.
   */
  reserve(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
    options?: ReserveOptions,
  ): Promise<ReserveResult>;

  /** The decision `reserve` would make now, changing nothing (dry run; Q5, Q7). */
  check(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<CheckResult>;

  /**
   * Q3: settles a reservation to the actual `usage`: per reserved dimension, the difference
   * is refunded (from the buckets the reservation charged, if still in the window) or charged
   * (at `nowMs`; usage may exceed the limit). A dimension absent from `usage` keeps its
   * reservation; usage dimensions not in the reservation are ignored and listed (Q8).
   * `held` (Q9) is charged at `nowMs` for its `holdMs`, in the same step.
   */
  trueUp(
    reservation: Reservation,
    usage: Readonly<Record<string, number>>,
    nowMs: number,
    held?: HeldUsage,
  ): Promise<QuotaReport>;

  /** Q3: refunds the whole reservation (its ticket expired without a Report). */
  release(reservation: Reservation, nowMs: number): Promise<QuotaReport>;

  /**
   * Q4: RATE_LIMITED with retry_after: the backend admits nothing until `untilMs` (caller's
   * clock). A later mark never shortens an earlier one.
   */
  markExhausted(key: BackendQuotaKey, untilMs: number, nowMs: number): Promise<void>;

  /**
   * Q4: the upstream reported `upstreamRemaining` units per dimension: where that is below
   * what the local view has left, usage is raised to match. Never raises remaining: a higher
   * upstream figure is usually one that has not yet seen our in-flight reservations.
   * Dimensions without a limit are ignored and listed (Q8).
   */
  correct(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    upstreamRemaining: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport & { readonly status: QuotaStatus }>;

  /** The backend's quota now (S8, Q5, GetService), changing nothing. */
  remaining(key: BackendQuotaKey, limits: readonly QuotaLimitSpec[], nowMs: number): Promise<QuotaStatus>;
}
