/**
 * Tiers, panic, fail-open and zone preference (behaviour.md S10, S13), decided when the
 * snapshot is built, never per request.
 *
 * Tiers: backends are grouped by `tier` (0 first). A request is served from the lowest tier
 * that yields a backend; tier k+1 is tried only when no backend of tiers <= k is left after
 * health, drain and the request's filters (exclude, labels, quota, hard backpressure).
 * Panic (per tier, Envoy's panic threshold): when a tier's healthy share (backends whose health
 * is allowed / all its non-draining backends) is below load.panic_threshold_percent (default
 * 50), the tier is served from all its non-draining backends, whatever their health, and the
 * decision is flagged degraded. A tier with no healthy backend is skipped.
 * Fail-open: when no tier has a healthy backend and load.fail_open is set, every tier is served
 * from all its non-draining backends, degraded. Draining backends and backends an operator
 * holds in maintenance (O10) are never served, not even in panic or fail-open: they count as
 * no member of their tier.
 * Zone preference: a request naming its zone is served from that zone's part of the tier while
 * the zone has at least load.zone_min_healthy_percent (default 70) of its non-draining backends
 * in that tier healthy (and at least one); otherwise, or when the request's filters leave
 * nothing in the zone, from the whole tier. Backends with no zone form no zone.
 * Each pool (a tier, or a tier's zone) has its own pickers, built on first use: a hash
 * strategy maps a key within the pool that serves the request.
 * Sources: Envoy "Priority levels", "Panic threshold" and "Zone aware routing"
 * (arch_overview/upstream/load_balancing).
 */
import type { LoadPolicy } from "../../model/specs.js";
import type { BackendState } from "../backend-state.js";
import { Pool, type PoolPlan } from "../pool.js";

/** How a tier is being served. */
export type RouteMode = "normal" | "panic" | "fail_open";

/** One tier as requests see it. */
export interface TierRoute {
  readonly tier: number;
  readonly mode: RouteMode;
  /** True in panic or fail-open: the pool may hold backends whose health is not allowed. */
  readonly degraded: boolean;
  readonly pool: Pool;
  /** Zone -> the preferred part of the pool, for zones that pass zone_min_healthy_percent. */
  readonly zones: ReadonlyMap<string, Pool>;
}

/** The tiers that can serve, lowest first. `healthy` says whether a backend's health is allowed. */
export function buildRoutes(
  backends: readonly BackendState[],
  healthy: (backend: BackendState) => boolean,
  load: LoadPolicy,
  plan: PoolPlan,
): TierRoute[] {
  const tiers = new Map<number, BackendState[]>();
  for (const backend of backends) {
    if (backend.draining || backend.maintenance) continue;
    const members = tiers.get(backend.spec.tier);
    if (members) members.push(backend);
    else tiers.set(backend.spec.tier, [backend]);
  }
  const ordered = [...tiers].sort(([a], [b]) => a - b);
  const routes: TierRoute[] = [];
  for (const [tier, members] of ordered) {
    const up = members.filter(healthy);
    if (up.length === 0) continue;
    const panic = up.length * 100 < load.panicThresholdPercent * members.length;
    const served = panic ? members : up;
    routes.push(route(tier, panic ? "panic" : "normal", served, members, healthy, load, plan));
  }
  if (routes.length === 0 && load.failOpen) {
    for (const [tier, members] of ordered)
      routes.push(route(tier, "fail_open", members, members, healthy, load, plan));
  }
  return routes;
}

function route(
  tier: number,
  mode: RouteMode,
  served: BackendState[],
  members: readonly BackendState[],
  healthy: (backend: BackendState) => boolean,
  load: LoadPolicy,
  plan: PoolPlan,
): TierRoute {
  return {
    tier,
    mode,
    degraded: mode !== "normal",
    pool: new Pool(served, plan),
    zones: preferredZones(served, members, healthy, load.zoneMinHealthyPercent, plan),
  };
}

/** Zone pools for the zones of a tier healthy enough to be preferred (and smaller than the tier). */
function preferredZones(
  served: readonly BackendState[],
  members: readonly BackendState[],
  healthy: (backend: BackendState) => boolean,
  minHealthyPercent: number,
  plan: PoolPlan,
): Map<string, Pool> {
  const counts = new Map<string, { members: number; healthy: number }>();
  for (const backend of members) {
    const zone = backend.spec.zone;
    if (zone === "") continue;
    const count = counts.get(zone) ?? { members: 0, healthy: 0 };
    count.members++;
    if (healthy(backend)) count.healthy++;
    counts.set(zone, count);
  }
  const zones = new Map<string, Pool>();
  for (const [zone, count] of counts) {
    if (count.healthy === 0 || count.healthy * 100 < minHealthyPercent * count.members) continue;
    const local = served.filter((backend) => backend.spec.zone === zone);
    if (local.length > 0 && local.length < served.length) zones.set(zone, new Pool(local, plan));
  }
  return zones;
}
