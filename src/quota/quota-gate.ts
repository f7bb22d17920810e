/**
 * Quota on the Select and Report paths (behaviour.md Q3-Q8, S8): a Select that lands on a
 * backend with limits reserves its cost there in one limiter call (one Lua script on Redis);
 * a backend that cannot take it is skipped and the balancer chooses again; when none can,
 * RESOURCE_EXHAUSTED carries the earliest recovery as RetryInfo. Report trues the reservation
 * up, marks RATE_LIMITED backends and takes upstream `remaining` figures. The latest status of
 * every backend is kept here for most_available and the quota filter (QuotaView); with a
 * `shared` view (Redis) it is read through the tiered cache (shared-quota-view.ts), and
 * re-read from the store before a refusal made on the view alone.
 */
import type { BackendState } from "../balancer/backend-state.js";
import type { Choice, ChoiceDecision } from "../balancer/balancer.js";
import type { Refusal } from "../balancer/decision.js";
import { removedByRequest, withFilter } from "../balancer/filters/filter-table.js";
import type { Outcome } from "../balancer/outcome.js";
import type { QuotaView } from "../balancer/quota-view.js";
import type { SelectQuery } from "../balancer/select-query.js";
import type { Clock } from "../shared/clock.js";
import { agedStatus, markedStatus } from "./aged-status.js";
import type { EstimateMargins } from "./estimate-margin.js";
import { type HeadroomCrossing, headroomCrossings } from "./headroom.js";
import { unknownUsage, upstreamRemainingOf } from "./quota-cost.js";
import { quotaExhausted } from "./quota-exhausted.js";
import type { QuotaLimiter, Reservation } from "./quota-limiter.js";
import { earliestRecoveryMs, type QuotaStatus, remainingRatio } from "./quota-status.js";
import type { SharedQuotaView } from "./shared-quota-view.js";

/** A choice with its reservations (one per chosen backend with limits), or why there is none. */
export type AdmitDecision =
  | { readonly kind: "picked"; readonly choice: Choice; readonly reservations: Reservation[] }
  | Refusal;

/** Choices turned down for quota before Select gives up on one request. */
export const MAX_QUOTA_ATTEMPTS = 8;

/** Counts for metrics and notes (Q7 shadow decisions, Q8 ignored dimensions). */
export interface QuotaCounters {
  denied: number;
  shadowDenied: number;
  ignoredDimensions: number;
}

/** Options of a QuotaGate. */
export interface QuotaGateOptions {
  readonly limiter: QuotaLimiter;
  readonly clock: Clock;
  readonly shadowOf: (service: string) => boolean;
  /** Q9: the shortest time upstream usage unknown to Fulcrum is held (quota.reconcileHoldMs). */
  readonly reconcileHoldMs: number;
  /** Q9: how long after a reserve the upstream may count the call (quota.upstreamLagMs). */
  readonly upstreamLagMs: number;
  /** Q10: margins learned from Reports (quota.estimateMargin); undefined reserves the cost alone. */
  readonly margins?: EstimateMargins;
  /** The quota view through the tiered cache (Redis as L2); undefined keeps it in this process. */
  readonly shared?: SharedQuotaView;
  /** The service's watch_thresholds (headroom crossings Watch reports). */
  readonly thresholdsOf?: (service: string) => readonly number[];
  /** Told about every headroom crossing this replica observes. */
  readonly onHeadroom?: (service: string, backend: BackendState, crossing: HeadroomCrossing) => void;
  /**
   * The backends the service's quota filter looks at (eligible ones) and its
   * filter_threshold: when the filter leaves nothing, RESOURCE_EXHAUSTED's RetryInfo is the
   * earliest of their recoveries (Q5). Undefined for an unknown service.
   */
  readonly filterOf?: (
    service: string,
  ) => { readonly candidates: readonly BackendState[]; readonly threshold: number } | undefined;
}

/** The quota layer between the balancer and the limiter. */
export class QuotaGate implements QuotaView {
  private readonly statuses = new WeakMap<BackendState, QuotaStatus>();
  private readonly reading = new Map<BackendState, Promise<QuotaStatus>>();
  readonly counters: QuotaCounters = { denied: 0, shadowDenied: 0, ignoredDimensions: 0 };

  constructor(private readonly options: QuotaGateOptions) {}

  /**
   * S8 / Q5: the backend's remaining ratio as last seen, aged to now (marks run out, window
   * buckets leave, token buckets drain: a backend the filter skips is not stuck at 0 until
   * something else reads it again); 1 before anything is known.
   */
  remainingRatio(backend: BackendState): number {
    if (this.alwaysFull(backend)) return 1;
    const status = this.statuses.get(backend);
    if (!status) return 1;
    const ratio = remainingRatio(status);
    if (ratio >= 1) return ratio;
    const now = this.options.clock.now();
    if (now <= status.atMs) return ratio;
    const current = agedStatus(status, now);
    this.statuses.set(backend, current);
    return remainingRatio(current);
  }

  /** The backend's remaining units and limit per dimension as last seen, aged to now; undefined before anything is known. */
  headroomOf(backend: BackendState): QuotaStatus["dimensions"] | undefined {
    const status = this.statuses.get(backend);
    if (!status || this.alwaysFull(backend)) return undefined;
    return agedStatus(status, Math.max(status.atMs, this.options.clock.now())).dimensions;
  }

  /** A backend without limits always has all of its quota (a status kept from older limits no longer counts). */
  alwaysFull(backend: BackendState): boolean {
    return backend.spec.quotas.length === 0;
  }

  /** True when a choice on this service may need a reservation: some backend has limits. */
  applies(backends: Iterable<BackendState>): boolean {
    for (const backend of backends) if (backend.spec.quotas.length > 0) return true;
    return false;
  }

  /** Chooses and reserves (Q3), around backends that cannot take `cost`; exhausted when none can. */
  async admit(
    service: string,
    query: SelectQuery,
    cost: Readonly<Record<string, number>>,
    choose: (query: SelectQuery) => ChoiceDecision,
  ): Promise<AdmitDecision> {
    await this.readShared(service);
    const denied = new Set<BackendState>();
    let retryAfterMs = Number.POSITIVE_INFINITY;
    let rechecked = false;
    const scoped = withFilter(query, { name: "quota_denied", accept: (b) => !denied.has(b) });
    for (let attempt = 0; attempt < MAX_QUOTA_ATTEMPTS; attempt++) {
      const decision = choose(scoped);
      switch (decision.kind) {
        case "picked": {
          const result = await this.reserveAll(service, decision.choice.backends, cost);
          if (result.ok)
            return { kind: "picked", choice: decision.choice, reservations: result.reservations };
          denied.add(result.backend);
          retryAfterMs = Math.min(retryAfterMs, result.retryAfterMs);
          continue;
        }
        case "exhausted":
          if (!rechecked && this.options.shared) {
            rechecked = true;
            if (await this.recheckSkipped(service, scoped)) continue;
          }
          return this.filteredOut(service, scoped, retryAfterMs, decision);
        case "unavailable":
          if (denied.size === 0) return decision;
          return quotaExhausted(service, denied.size, retryAfterMs);
        case "not_found":
          return decision;
      }
    }
    return quotaExhausted(service, denied.size, retryAfterMs);
  }

  /** Reserves `cost` on backends already chosen (a pinned session's backend); exhausted when one cannot take it. */
  async reserveOn(
    service: string,
    backends: readonly BackendState[],
    cost: Readonly<Record<string, number>>,
  ): Promise<{ readonly kind: "reserved"; readonly reservations: Reservation[] } | Refusal> {
    const result = await this.reserveAll(service, backends, cost);
    if (result.ok) return { kind: "reserved", reservations: result.reservations };
    return quotaExhausted(service, 1, result.retryAfterMs);
  }

  /** Report (Q3, Q4): true-up to usage, RATE_LIMITED marks, upstream remaining. */
  async settle(
    backend: BackendState,
    service: string,
    reservations: readonly unknown[] | undefined,
    outcome: Outcome,
  ): Promise<void> {
    const { limiter, clock, reconcileHoldMs, upstreamLagMs } = this.options;
    const now = clock.now();
    const key = { service, backendId: backend.spec.id };
    const mine = (reservations as Reservation[] | undefined)?.find(
      (r) => r.key.backendId === backend.spec.id,
    );
    const observed = Object.keys(outcome.remaining).length > 0 && backend.spec.quotas.length > 0;
    if (mine) {
      if (outcome.result === "success") this.options.margins?.observe(service, mine, outcome.usage);
      // Q9: the upstream's remaining is reconciled with this reservation, in the same true-up.
      const held = unknownUsage(mine, outcome, reconcileHoldMs, upstreamLagMs, now);
      const report = await limiter.trueUp(mine, outcome.usage, now, held);
      this.note(service, backend, report);
      if (observed) this.noteIgnored(upstreamRemainingOf(backend.spec.quotas, outcome.remaining).ignored);
    }
    if (outcome.result === "rate_limited" && outcome.retryAfterMs > 0) {
      await limiter.markExhausted(key, now + outcome.retryAfterMs, now);
      const status = markedStatus(this.statuses.get(backend), now + outcome.retryAfterMs, now);
      this.keep(service, backend, status, "local");
      await this.options.shared?.marked(service, backend, status);
    }
    if (observed && !mine) {
      this.note(service, backend, await limiter.correct(key, backend.spec.quotas, outcome.remaining, now));
    }
  }

  /** A Report settled a ticket (Q3): its backends trued up, the ones not used (count > 1) given back. */
  async settleTicket(
    service: string,
    ticketBackends: readonly BackendState[],
    reported: readonly BackendState[],
    reservations: readonly unknown[] | undefined,
    outcome: Outcome,
  ): Promise<void> {
    for (const backend of reported) await this.settle(backend, service, reservations, outcome);
    if (!reservations) return;
    const unused = (reservations as Reservation[]).filter(
      (r) => !reported.some((b) => b.spec.id === r.key.backendId),
    );
    if (unused.length > 0) await this.release(ticketBackends, unused);
  }

  /** Q3: an expired ticket gives its reservations back. */
  async release(backends: readonly BackendState[], reservations: readonly unknown[]): Promise<void> {
    const now = this.options.clock.now();
    for (const reservation of reservations as Reservation[]) {
      const report = await this.options.limiter.release(reservation, now);
      const backend = backends.find((b) => b.spec.id === reservation.key.backendId);
      if (backend) this.note(reservation.key.service, backend, report);
    }
  }

  /** GetService: remaining units per dimension of one backend, read now. */
  async remaining(service: string, backend: BackendState): Promise<Record<string, number>> {
    if (backend.spec.quotas.length === 0) return {};
    // One read per backend at a time: a burst of refusals (recheckSkipped) shares it.
    let read = this.reading.get(backend);
    if (!read) {
      const key = { service, backendId: backend.spec.id };
      read = this.options.limiter.remaining(key, backend.spec.quotas, this.options.clock.now());
      this.reading.set(backend, read);
      void read.finally(() => this.reading.delete(backend)).catch(() => {});
    }
    const status = await read;
    this.keep(service, backend, status);
    return Object.fromEntries(
      Object.entries(status.dimensions).map(([dimension, d]) => [dimension, d.remaining]),
    );
  }

  private async reserveAll(
    service: string,
    backends: readonly BackendState[],
    cost: Readonly<Record<string, number>>,
  ): Promise<
    { ok: true; reservations: Reservation[] } | { ok: false; backend: BackendState; retryAfterMs: number }
  > {
    const { limiter, clock, shadowOf, upstreamLagMs, margins } = this.options;
    const mode = shadowOf(service) ? "shadow" : "enforce";
    const options = { mode, upstreamLagMs, margin: margins?.marginOf(service) } as const;
    const reservations: Reservation[] = [];
    for (const backend of backends) {
      if (backend.spec.quotas.length === 0) continue;
      const now = clock.now();
      const key = { service, backendId: backend.spec.id };
      const result = await limiter.reserve(key, backend.spec.quotas, cost, now, options);
      this.note(service, backend, result);
      if (result.ok) {
        if (result.shadowDenial) this.counters.shadowDenied++;
        reservations.push(result.reservation);
        continue;
      }
      this.counters.denied++;
      await this.release(backends, reservations);
      return { ok: false, backend, retryAfterMs: result.retryAfterMs };
    }
    return { ok: true, reservations };
  }

  /**
   * The balancer's quota filter left nothing (Q5): the same refusal, with RetryInfo of the
   * earliest recovery among the backends it skipped for quota (and those refused here). The
   * backends the request's other filters removed (the filter table's) do not count.
   */
  private filteredOut(
    service: string,
    query: SelectQuery,
    deniedRetryMs: number,
    refusal: Refusal & { readonly kind: "exhausted" },
  ): Refusal {
    const skipped = this.skippedForQuota(service, query);
    if (!skipped) return refusal;
    const statuses = skipped.backends.flatMap((backend) => this.statuses.get(backend) ?? []);
    const now = this.options.clock.now();
    const retry = Math.min(deniedRetryMs, earliestRecoveryMs(statuses, now, skipped.threshold));
    if (!Number.isFinite(retry)) return refusal;
    return { ...refusal, retryAfterMs: Math.max(1, Math.ceil(retry)) };
  }

  /** The candidates the quota filter skips for `query` (out of quota as this replica sees them). */
  private skippedForQuota(service: string, query: SelectQuery) {
    const filter = this.options.filterOf?.(service);
    if (!filter) return undefined;
    const excluded = new Set(query.exclude);
    const backends = filter.candidates.filter((backend) => {
      if (removedByRequest(backend, query, excluded)) return false;
      const ratio = this.remainingRatio(backend);
      return !(ratio > 0) || ratio < filter.threshold;
    });
    return { backends, threshold: filter.threshold };
  }

  /**
   * Before refusing on the view alone, with several replicas: re-reads the skipped backends,
   * since this replica's copy misses what other replicas gave back (true-ups, releases). True
   * when one passes the filter now. One status read per skipped backend, on refusals only.
   */
  private async recheckSkipped(service: string, query: SelectQuery): Promise<boolean> {
    const skipped = this.skippedForQuota(service, query)?.backends ?? [];
    if (skipped.length === 0) return false;
    try {
      await Promise.all(skipped.map((backend) => this.remaining(service, backend)));
    } catch {
      return false; // the store cannot answer: refuse on what this replica knows
    }
    return (this.skippedForQuota(service, query)?.backends.length ?? 0) < skipped.length;
  }

  private note(
    service: string,
    backend: BackendState,
    report: { status: QuotaStatus | undefined; ignored: readonly string[] },
  ): void {
    this.noteIgnored(report.ignored);
    if (report.status) this.keep(service, backend, report.status);
  }

  private noteIgnored(ignored: readonly string[]): void {
    this.counters.ignoredDimensions += ignored.length;
  }

  /** Brings the shared view of the service's candidates into `statuses` (Redis on an L1 miss). */
  private async readShared(service: string): Promise<void> {
    const { shared, filterOf } = this.options;
    const candidates = shared && filterOf?.(service)?.candidates;
    if (candidates)
      await shared.readThrough(service, candidates, (b, s) => this.keep(service, b, s, "local"));
  }

  /** Keeps the latest status (into the shared view's L1 too, unless `local`); tells Watch of crossings. */
  private keep(service: string, backend: BackendState, status: QuotaStatus, scope?: "local"): void {
    const before = this.statuses.get(backend);
    this.statuses.set(backend, status);
    if (scope !== "local") this.options.shared?.fill(service, backend, status);
    const { onHeadroom, thresholdsOf } = this.options;
    if (!onHeadroom) return;
    for (const crossing of headroomCrossings(before, status, thresholdsOf?.(service) ?? []))
      onHeadroom(service, backend, crossing);
  }
}
