import type { LoadPolicy, ServiceConfig, StrategySpec } from "../model/specs.js";
import type { BackendState } from "./backend-state.js";
import { buildRoutes, type TierRoute } from "./filters/tiers.js";
import { DEFAULT_LATENCY_DECAY_MS } from "./load/latency-estimate.js";
import type { ChainLink } from "./pool.js";
import { findStrategy } from "./strategies/catalog.js";
import { roundRobin } from "./strategies/round-robin.js";
import type { PickerDeps } from "./strategy.js";

/**
 * An immutable view of one service for the Select hot path (docs/architecture.md, the picker
 * idea). Rebuilt when membership, health, drain, weights or config change; never per request.
 * Per-request counters (in-flight, latency) live on the BackendState objects it references.
 */
export interface Snapshot {
  readonly version: number;
  /** The primary strategy's name. */
  readonly strategy: string;
  /** Names of the chain: primary, fallbacks, and `round_robin` appended after a hash strategy. */
  readonly chain: readonly string[];
  /** Every backend, in registration order. */
  readonly backends: readonly BackendState[];
  /** Backends whose health is allowed and that are not draining. */
  readonly eligible: readonly BackendState[];
  /** The tiers that can serve, lowest first (filters/tiers.ts); empty when none can. */
  readonly routes: readonly TierRoute[];
  readonly config: ServiceConfig;
  /** True when some servable backend has max_connections > 0 (backpressure applies, S15). */
  readonly backpressure: boolean;
  /** True when some backend has quota limits: Selects then go through the quota layer (Q3). */
  readonly quotaLimited: boolean;
  /** Unhealthy, not draining, not in maintenance: the candidates for one probe selection each (H2, O10). */
  readonly unhealthy: readonly BackendState[];
  /** Decay of the latency estimates that Report feeds, in ms (power_of_two's `decay`, else the default). */
  readonly latencyDecayMs: number;
}

/** Why a backend is not eligible for any request, or undefined when it is. */
export function ineligibleReason(backend: BackendState, config: ServiceConfig): string | undefined {
  if (backend.maintenance) return "maintenance";
  if (backend.draining) return "draining";
  if (backend.ejectedUntil > 0) return "ejected";
  if (!config.health.allowedStates.includes(backend.health)) return backend.health;
  return undefined;
}

/**
 * The strategy chain of a spec (S9): primary then fallbacks, unknown names skipped (Register
 * rejects them). A chain ending in a hash strategy gets round robin appended, so a Select
 * without hash_key is still served (S7, documented in each hash strategy).
 */
export function resolveChain(spec: StrategySpec): ChainLink[] {
  const chain: ChainLink[] = [];
  for (let link: StrategySpec | undefined = spec; link; link = link.fallback) {
    const definition = findStrategy(link.name);
    if (definition) chain.push({ definition, settings: link.settings });
  }
  const last = chain[chain.length - 1];
  if (!last || last.definition.usesHashKey) chain.push({ definition: roundRobin, settings: {} });
  return chain;
}

function latencyDecayMs(spec: StrategySpec): number {
  for (let link: StrategySpec | undefined = spec; link; link = link.fallback) {
    const decay = link.settings.decay_ms;
    if (typeof decay === "number" && decay > 0) return decay;
  }
  return DEFAULT_LATENCY_DECAY_MS;
}

/** Lets go of a replaced snapshot's pickers (the load watchers least_load keeps on backends). */
export function disposeSnapshot(snapshot: Snapshot): void {
  for (const route of snapshot.routes) {
    route.pool.dispose();
    for (const zone of route.zones.values()) zone.dispose();
  }
}

/** Builds the snapshot of a service's current backends. */
export function buildSnapshot(
  backends: readonly BackendState[],
  config: ServiceConfig,
  version: number,
  deps: PickerDeps,
): Snapshot {
  const allowed = config.health.allowedStates;
  // Outlier ejection (H4) takes a backend out like a disallowed health state would.
  const healthy = (backend: BackendState) => allowed.includes(backend.health) && backend.ejectedUntil === 0;
  const eligible = backends.filter((backend) => ineligibleReason(backend, config) === undefined);
  const chain = resolveChain(config.strategy);
  const load: LoadPolicy = config.load;
  const routes = buildRoutes(backends, healthy, load, { chain, slowStart: load.slowStart, deps });
  return {
    version,
    strategy: config.strategy.name,
    chain: chain.map((link) => link.definition.name),
    backends,
    eligible,
    routes,
    config,
    backpressure: routes.some((route) => route.pool.backends.some((b) => b.spec.maxConnections > 0)),
    latencyDecayMs: latencyDecayMs(config.strategy),
    unhealthy: backends.filter((b) => b.health === "unhealthy" && !b.draining && !b.maintenance),
    quotaLimited: backends.some((b) => b.spec.quotas.length > 0),
  };
}
