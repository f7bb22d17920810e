/**
 * The per-request candidate filter (behaviour.md S11, Q5), built from the filter table
 * (filter-table.ts): exclude (backend ids the caller already tried), required labels (every
 * listed label must match exactly), the layers' named filters (negative availability, pin
 * capacity, quota denials), and the quota
 * filter (out of quota: remaining ratio <= 0 or below the service's filter_threshold; off in
 * shadow mode and while no quota layer is plugged in). Undefined when the request has none of
 * these, so the hot path pays nothing.
 */
import type { QuotaPolicy } from "../../model/specs.js";
import type { BackendState } from "../backend-state.js";
import { FULL_QUOTA, type QuotaView } from "../quota-view.js";
import type { SelectQuery } from "../select-query.js";
import type { Accept } from "../strategy.js";
import { type LayerFilter, labelsMatch } from "./filter-table.js";

/** The quota filter's settings (QuotaPolicy's). */
export type QuotaFilterPolicy = Pick<QuotaPolicy, "filterThreshold" | "shadow">;

/** True when the quota filter applies for this view and policy. */
export function quotaFilterActive(quota: QuotaView, policy: QuotaFilterPolicy): boolean {
  return quota !== FULL_QUOTA && !policy.shadow;
}

/** True when `backend` is out of quota under the filter. */
export function outOfQuota(backend: BackendState, quota: QuotaView, policy: QuotaFilterPolicy): boolean {
  const ratio = quota.remainingRatio(backend);
  return !(ratio > 0) || ratio < policy.filterThreshold;
}

/** The filter of exclude, labels and quota, or undefined when none applies. */
export function requestFilter(
  query: SelectQuery,
  quota: QuotaView,
  policy: QuotaFilterPolicy,
): Accept | undefined {
  let hasLabels = false;
  for (const _ in query.labels) {
    hasLabels = true;
    break;
  }
  const checkQuota = quotaFilterActive(quota, policy);
  const layers = query.filters;
  if (query.exclude.length === 0 && !hasLabels && !checkQuota && !layers?.length) return undefined;
  const excluded = query.exclude.length > 0 ? new Set(query.exclude) : undefined;
  return (backend) =>
    !excluded?.has(backend.spec.id) &&
    (!hasLabels || labelsMatch(backend, query.labels)) &&
    (!layers || passesLayers(backend, layers)) &&
    (!checkQuota || !outOfQuota(backend, quota, policy));
}

function passesLayers(backend: BackendState, layers: readonly LayerFilter[]): boolean {
  for (const layer of layers) if (!layer.accept(backend)) return false;
  return true;
}
