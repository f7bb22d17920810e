/**
 * The one table of Select filters (behaviour.md S11, S16, H4, P6, P8, Q3, Q5), in the order
 * they are applied and explained. The pick (request-filter.ts), explain (explanation.ts) and
 * the quota gate's RetryInfo (quota/quota-gate.ts) all read the request part from here, so each
 * filter exists once and explain names the filter the pick used.
 */
import type { BackendState } from "../backend-state.js";
import type { Accept } from "../strategy.js";

/** Every filter by name, in order. */
export const FILTER_TABLE = [
  /** Snapshot: an operator's UNHEALTHY holds it out of every selection (O10). */
  "maintenance",
  /** Snapshot: the backend is draining (R6). */
  "draining",
  /** Snapshot: outlier detection ejected it (H4). */
  "ejected",
  /** Snapshot: its health is not allowed (outside panic and fail-open). */
  "unhealthy",
  /** Request: the caller's `exclude` list. */
  "excluded",
  /** Request: a required label is missing or differs. */
  "labels",
  /** Layer: known to lack the request's resource_key (P8). */
  "negative_availability",
  /** Layer: no free pin slot for a new session (P6). */
  "pin_capacity",
  /** Layer: this Select's quota reservation was refused there (Q3). */
  "quota_denied",
  /** Request: out of quota by the last known headroom (Q5). */
  "out_of_quota",
  /** Past the hard backpressure limit (S15). */
  "backpressure",
  /** A higher tier than the one that served. */
  "tier",
  /** Outside the caller's preferred zone. */
  "zone",
  /** Past the soft backpressure limit while others were under it (S15). */
  "backpressure_soft",
] as const;

/** One filter's name. */
export type FilterName = (typeof FILTER_TABLE)[number];

/** Names of the filters the layers around the balancer add to a query. */
export type LayerFilterName = "negative_availability" | "pin_capacity" | "quota_denied";

/** A filter a layer around the balancer adds to a query (sessions, negative availability, quota). */
export interface LayerFilter {
  readonly name: LayerFilterName;
  /** True when `backend` passes. */
  readonly accept: Accept;
}

/** The part of a SelectQuery the request filters read. */
export interface FilteredRequest {
  readonly labels: Readonly<Record<string, string>>;
  readonly filters?: readonly LayerFilter[] | undefined;
}

/** `query` (a SelectQuery) with one more layer filter. */
export function withFilter<Q extends FilteredRequest>(query: Q, filter: LayerFilter): Q {
  return { ...query, filters: [...(query.filters ?? []), filter] };
}

/** True when every label in `labels` is on `backend` with the same value. */
export function labelsMatch(backend: BackendState, labels: Readonly<Record<string, string>>): boolean {
  for (const key in labels) if (backend.spec.labels[key] !== labels[key]) return false;
  return true;
}

/**
 * The first request filter (excluded, labels, then layer filters in table order) that
 * removes `backend`, or undefined when it passes them all. `excluded` is the query's
 * exclude list as a set.
 */
export function removedByRequest(
  backend: BackendState,
  query: FilteredRequest,
  excluded: ReadonlySet<string>,
): FilterName | undefined {
  if (excluded.has(backend.spec.id)) return "excluded";
  if (!labelsMatch(backend, query.labels)) return "labels";
  const filters = query.filters;
  if (!filters) return undefined;
  for (const name of LAYER_ORDER) {
    for (const filter of filters) if (filter.name === name && !filter.accept(backend)) return name;
  }
  return undefined;
}

const LAYER_ORDER: readonly LayerFilterName[] = FILTER_TABLE.filter(
  (name): name is LayerFilterName =>
    name === "negative_availability" || name === "pin_capacity" || name === "quota_denied",
);
