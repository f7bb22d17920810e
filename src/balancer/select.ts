/**
 * The Select pipeline over one snapshot (behaviour.md S9-S15): health and drain are already
 * in the snapshot's tiers; per request, the filters (exclude, labels, quota, hard
 * backpressure, distinct for count > 1) form one accept function, and each pick walks the
 * tiers lowest first, the caller's zone before the whole tier, and backends past the soft
 * backpressure limit only when nothing else is left in the tier. The strategy chain of the
 * pool does the choosing (S9 fallbacks). Nothing here allocates per request when the request
 * has no filters and count is 1, beyond the answer itself.
 */
import type { BackendState } from "./backend-state.js";
import type { Refusal } from "./decision.js";
import type { Explanation } from "./explanation.js";
import { explainSelection, type PickTrace } from "./explanation.js";
import { pastShare } from "./filters/backpressure.js";
import { outOfQuota, quotaFilterActive, requestFilter } from "./filters/request-filter.js";
import type { TierRoute } from "./filters/tiers.js";
import type { Pool } from "./pool.js";
import { FULL_QUOTA } from "./quota-view.js";
import type { SelectQuery } from "./select-query.js";
import type { Snapshot } from "./snapshot.js";
import { ACCEPT_ALL, type Accept, type PickContext } from "./strategy.js";

/** The tagged result of a pick: it never throws. */
export type SelectDecision =
  | {
      readonly kind: "picked";
      readonly backends: readonly BackendState[];
      /** True when a pick came from a tier in panic or fail-open (S13). */
      readonly degraded: boolean;
      readonly explanation?: Explanation | undefined;
    }
  | Exclude<Refusal, { readonly kind: "not_found" }>;

/**
 * The back-off a BACKPRESSURE refusal suggests when no backend has a latency estimate yet:
 * about one short call, after which in-flight slots have usually come free.
 */
export const DEFAULT_BACKPRESSURE_RETRY_MS = 20;

/** The two passes of one pick: strict skips soft-backpressured backends; relaxed (if any) admits them. */
interface Passes {
  readonly strict: Accept;
  readonly relaxed: Accept | undefined;
}

const NO_FILTERS: Passes = { strict: ACCEPT_ALL, relaxed: undefined };

/** Where the last pick came from; one per process (Select is synchronous), so no allocation. */
const last = {
  route: undefined as TierRoute | undefined,
  pool: undefined as Pool | undefined,
  relaxed: false,
};

/** A context for callers without a balancer (tests, benches): no quota layer, nothing in flight. */
export function defaultContext(query: SelectQuery): PickContext {
  return { hashKey: query.hashKey, quota: FULL_QUOTA, serviceInFlight: 0 };
}

/**
 * Picks up to `count` distinct backends (S11): fewer only if fewer are left after the
 * filters. `context.hashKey` must be the query's. Never throws.
 */
export function selectFromSnapshot(
  snapshot: Snapshot,
  query: SelectQuery,
  context: PickContext = defaultContext(query),
): SelectDecision {
  if (query.count === 1 && !query.explain && isPlain(snapshot, query, context)) {
    const picked = pickOne(snapshot, query.zone, NO_FILTERS, context);
    if (picked) return { kind: "picked", backends: [picked], degraded: last.route!.degraded };
  }
  const filter = requestFilter(query, context.quota, snapshot.config.quota);
  const chosen: BackendState[] = [];
  const passes = buildPasses(snapshot, filter, query.count > 1 ? chosen : undefined);
  const trace: PickTrace | undefined = query.explain
    ? { routes: [], zoned: true, relaxed: false, links: [] }
    : undefined;
  let degraded = false;
  while (chosen.length < query.count) {
    const picked = pickOne(snapshot, query.zone, passes, context);
    if (!picked) break;
    chosen.push(picked);
    degraded ||= last.route!.degraded;
    if (trace) recordTrace(trace, last);
  }
  const explanation = trace && explainSelection(snapshot, query, context, chosen, trace);
  if (chosen.length > 0) return { kind: "picked", backends: chosen, degraded, explanation };
  return { ...describeFailure(snapshot, query, context), explanation };
}

/** True when the request has no filter at all: no exclude, labels, quota filter or backpressure. */
function isPlain(snapshot: Snapshot, query: SelectQuery, context: PickContext): boolean {
  if (query.exclude.length > 0 || query.filters?.length || snapshot.backpressure) return false;
  for (const _ in query.labels) return false;
  return !quotaFilterActive(context.quota, snapshot.config.quota);
}

function buildPasses(
  snapshot: Snapshot,
  filter: Accept | undefined,
  chosen: BackendState[] | undefined,
): Passes {
  if (!filter && !chosen && !snapshot.backpressure) return NO_FILTERS;
  const base: Accept =
    filter && chosen
      ? (b) => filter(b) && !chosen.includes(b)
      : (filter ?? (chosen ? (b) => !chosen.includes(b) : ACCEPT_ALL));
  if (!snapshot.backpressure) return { strict: base, relaxed: undefined };
  const { backpressureSoftPercent: soft, backpressureHardPercent: hard } = snapshot.config.load;
  return {
    strict: (b) => base(b) && !pastShare(b, soft),
    relaxed: (b) => base(b) && !pastShare(b, hard),
  };
}

/** One backend: tiers lowest first; in each, zone then tier, strict then relaxed. Sets `last`. */
function pickOne(
  snapshot: Snapshot,
  zone: string,
  passes: Passes,
  context: PickContext,
): BackendState | undefined {
  const routes = snapshot.routes;
  for (let r = 0; r < routes.length; r++) {
    const route = routes[r]!;
    const local = zone === "" ? undefined : route.zones.get(zone);
    last.route = route;
    last.relaxed = false;
    let picked = pickInTier(route, local, passes.strict, context);
    if (!picked && passes.relaxed) {
      last.relaxed = true;
      picked = pickInTier(route, local, passes.relaxed, context);
    }
    if (picked) return picked;
  }
  return undefined;
}

function pickInTier(
  route: TierRoute,
  local: Pool | undefined,
  accept: Accept,
  context: PickContext,
): BackendState | undefined {
  if (local) {
    last.pool = local;
    const picked = local.pick(accept, context);
    if (picked) return picked;
  }
  last.pool = route.pool;
  return route.pool.pick(accept, context);
}

function recordTrace(trace: PickTrace, from: typeof last): void {
  const route = from.route!;
  const pool = from.pool!;
  trace.routes.push(route);
  trace.zoned &&= pool !== route.pool;
  trace.relaxed ||= from.relaxed;
  trace.links.push(pool.lastLink);
}

/** Why nothing was picked, with what the caller can do about it (E1). */
function describeFailure(snapshot: Snapshot, query: SelectQuery, context: PickContext): SelectDecision {
  const { backends, routes, config } = snapshot;
  if (backends.length === 0)
    return { kind: "unavailable", reason: "NO_BACKENDS", message: "service has no backends" };
  if (routes.length === 0) {
    const maintenance = backends.filter((b) => b.maintenance).length;
    const draining = backends.filter((b) => b.draining && !b.maintenance).length;
    const ejected = backends.filter((b) => !b.draining && !b.maintenance && b.ejectedUntil > 0).length;
    const unhealthy = backends.length - maintenance - draining - ejected;
    return {
      kind: "unavailable",
      reason: "NO_HEALTHY_BACKEND",
      message: `none of ${backends.length} backends is eligible (${unhealthy} unhealthy, ${ejected} ejected, ${draining} draining, ${maintenance} in maintenance; fail_open is off)`,
      // An unhealthy backend gets its next chance after a probe interval; draining ones never come back.
      ...(unhealthy + ejected > 0 && { retryAfterMs: config.health.probeIntervalMs }),
    };
  }
  const candidates = new Set(routes.flatMap((route) => route.pool.backends));
  const withoutQuota = requestFilter(query, FULL_QUOTA, config.quota) ?? ACCEPT_ALL;
  const left = [...candidates].filter(withoutQuota);
  if (left.length > 0 && quotaFilterActive(context.quota, config.quota)) {
    if (left.every((b) => outOfQuota(b, context.quota, config.quota)))
      return {
        kind: "exhausted",
        reason: "QUOTA_EXHAUSTED",
        message: `every one of ${left.length} eligible backends is out of quota`,
      };
  }
  const hard = config.load.backpressureHardPercent;
  if (left.length > 0 && snapshot.backpressure && left.every((b) => pastShare(b, hard))) {
    const latencies = left.map((b) => b.ewmaLatencyMs).filter((ms) => ms > 0);
    return {
      kind: "unavailable",
      reason: "BACKPRESSURE",
      message: `every one of ${left.length} eligible backends is past ${hard}% of max_connections in flight (backpressure_hard_percent)`,
      retryAfterMs: Math.max(
        1,
        Math.ceil(latencies.length > 0 ? Math.min(...latencies) : DEFAULT_BACKPRESSURE_RETRY_MS),
      ),
    };
  }
  const why = [
    query.exclude.length > 0 && "exclude",
    Object.keys(query.labels).length > 0 && "labels",
    snapshot.backpressure && "backpressure",
  ].filter(Boolean);
  return {
    kind: "unavailable",
    reason: "NO_MATCHING_BACKEND",
    message: `no eligible backend left after ${why.join(" and ") || "filters"} (${candidates.size} eligible before)`,
  };
}
