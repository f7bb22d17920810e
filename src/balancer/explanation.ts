/**
 * Explain (behaviour.md S16): the decision trace of one Select, computed only when the caller
 * asks, after the pick, so the hot path pays nothing for it. Every backend of the service is
 * listed with the first filter that removed it, in the order of the filter table
 * (filters/filter-table.ts): maintenance, draining, ejected, unhealthy, excluded, labels, the layers'
 * negative_availability, pin_capacity and quota_denied, out_of_quota, backpressure, tier,
 * zone, backpressure_soft. Scores are the serving strategy's (load, weight, hash score,
 * headroom); the reason names the strategy (or the fallback that picked), the tier and any
 * panic or fail-open.
 */
import type { BackendState } from "./backend-state.js";
import { pastShare } from "./filters/backpressure.js";
import { FILTER_TABLE, type FilterName, removedByRequest } from "./filters/filter-table.js";
import { outOfQuota, quotaFilterActive } from "./filters/request-filter.js";
import type { TierRoute } from "./filters/tiers.js";
import type { SelectQuery } from "./select-query.js";
import type { Snapshot } from "./snapshot.js";
import { findStrategy } from "./strategies/catalog.js";
import type { PickContext } from "./strategy.js";

/** The decision trace of one Select (behaviour.md S16). */
export interface Explanation {
  readonly strategy: string;
  /** Filters applied, in order, with how many backends each removed. */
  readonly filters: readonly { readonly filter: string; readonly removed: number }[];
  readonly candidates: readonly {
    readonly backendId: string;
    /** Empty when it was a candidate; otherwise the filter that removed it. */
    readonly removedBy: string;
    readonly score: number;
    readonly picked: boolean;
  }[];
  readonly reason: string;
}

/** What select.ts records about each pick, when explain is asked. */
export interface PickTrace {
  /** The tier route of each pick. */
  readonly routes: TierRoute[];
  /** True when every pick came from the caller's zone pool. */
  zoned: boolean;
  /** True when some pick had to admit soft-backpressured backends. */
  relaxed: boolean;
  /** Position in the strategy chain of the picker of each pick (0: the primary). */
  readonly links: number[];
}

/** Builds the explanation of a finished Select. */
export function explainSelection(
  snapshot: Snapshot,
  query: SelectQuery,
  context: PickContext,
  chosen: readonly BackendState[],
  trace: PickTrace,
): Explanation {
  const classify = classifier(snapshot, query, context, trace);
  const applied = appliedFilters(snapshot, query, context, trace);
  const removed = new Map<FilterName, number>(applied.map((filter) => [filter, 0]));
  const scorer = (trace.routes[0] ?? snapshot.routes[0])?.pool.picker(trace.links[0] ?? 0);
  const candidates = snapshot.backends.map((backend) => {
    const filter = classify(backend);
    if (filter) removed.set(filter, (removed.get(filter) ?? 0) + 1);
    return {
      backendId: backend.spec.id,
      removedBy: filter ?? "",
      score: scorer?.score?.(backend, context) ?? 0,
      picked: chosen.includes(backend),
    };
  });
  return {
    strategy: snapshot.strategy,
    filters: [...removed].map(([filter, count]) => ({ filter, removed: count })),
    candidates,
    reason: reason(snapshot, query, chosen, trace, candidates.filter((c) => !c.removedBy).length),
  };
}

/** The filters that applied to this request, in order. */
function appliedFilters(
  snapshot: Snapshot,
  query: SelectQuery,
  context: PickContext,
  trace: PickTrace,
): FilterName[] {
  const layers = new Set(query.filters?.map((filter) => filter.name));
  const on: Record<FilterName, boolean> = {
    maintenance: snapshot.backends.some((backend) => backend.maintenance),
    draining: true,
    ejected: snapshot.backends.some((backend) => backend.ejectedUntil > 0),
    unhealthy: true,
    excluded: query.exclude.length > 0,
    labels: Object.keys(query.labels).length > 0,
    negative_availability: layers.has("negative_availability"),
    pin_capacity: layers.has("pin_capacity"),
    quota_denied: layers.has("quota_denied"),
    out_of_quota: quotaFilterActive(context.quota, snapshot.config.quota),
    backpressure: snapshot.backpressure,
    tier: snapshot.routes.length > 1,
    zone: query.zone !== "",
    backpressure_soft: snapshot.backpressure && trace.routes.length > 0 && !trace.relaxed,
  };
  return FILTER_TABLE.filter((filter) => on[filter]);
}

function classifier(
  snapshot: Snapshot,
  query: SelectQuery,
  context: PickContext,
  trace: PickTrace,
): (backend: BackendState) => FilterName | undefined {
  const servable = new Set(snapshot.routes.flatMap((route) => route.pool.backends));
  const excluded = new Set(query.exclude);
  const quotaOn = quotaFilterActive(context.quota, snapshot.config.quota);
  const { backpressureSoftPercent: soft, backpressureHardPercent: hard } = snapshot.config.load;
  const tiers = new Set(trace.routes.map((route) => route.tier));
  const zoned = trace.routes.length > 0 && trace.zoned && query.zone !== "";
  const softApplied = snapshot.backpressure && trace.routes.length > 0 && !trace.relaxed;
  return (backend) => {
    if (backend.maintenance) return "maintenance";
    if (backend.draining) return "draining";
    if (!servable.has(backend)) return backend.ejectedUntil > 0 ? "ejected" : "unhealthy";
    const byRequest = removedByRequest(backend, query, excluded);
    if (byRequest) return byRequest;
    if (quotaOn && outOfQuota(backend, context.quota, snapshot.config.quota)) return "out_of_quota";
    if (snapshot.backpressure && pastShare(backend, hard)) return "backpressure";
    if (tiers.size > 0 && !tiers.has(backend.spec.tier)) return "tier";
    if (zoned && backend.spec.zone !== query.zone) return "zone";
    if (softApplied && pastShare(backend, soft)) return "backpressure_soft";
    return undefined;
  };
}

function reason(
  snapshot: Snapshot,
  query: SelectQuery,
  chosen: readonly BackendState[],
  trace: PickTrace,
  candidates: number,
): string {
  if (chosen.length === 0)
    return snapshot.routes.length === 0
      ? "no backend is eligible: every backend is unhealthy, ejected, draining or in maintenance and fail_open is off"
      : "no candidate left after the request's filters";
  const link = trace.links[0] ?? 0;
  const picker = snapshot.chain[link] ?? snapshot.strategy;
  const route = trace.routes[0]!;
  const parts = [
    `${picker} picked ${chosen.map((b) => b.spec.id).join(", ")} from ${candidates} candidates in tier ${route.tier}`,
  ];
  if (link > 0) {
    const primary = snapshot.strategy;
    const why =
      query.hashKey === "" && findStrategy(primary)?.usesHashKey ? "no hash_key" : "nothing accepted";
    parts.push(`${primary} yielded nothing (${why}), so fallback ${picker} picked`);
  }
  if (trace.zoned && query.zone !== "") parts.push(`zone ${query.zone} preferred`);
  if (route.mode === "panic")
    parts.push(
      `panic: tier ${route.tier} is below ${snapshot.config.load.panicThresholdPercent}% healthy, so all its backends were candidates (degraded)`,
    );
  if (route.mode === "fail_open")
    parts.push("fail-open: no backend is healthy, so all were candidates (degraded)");
  if (trace.relaxed) parts.push("every other candidate was past the soft backpressure limit");
  return parts.join("; ");
}
