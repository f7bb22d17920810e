import { parseServiceConfig } from "../../../src/app/parse-service-config.js";
/** Builders for balancer unit tests: backends, configs, snapshots and queries with defaults. */
import { type BackendState, newBackendState } from "../../../src/balancer/backend-state.js";
import { FULL_QUOTA } from "../../../src/balancer/quota-view.js";
import { type SelectDecision, selectFromSnapshot } from "../../../src/balancer/select.js";
import type { SelectQuery } from "../../../src/balancer/select-query.js";
import { buildSnapshot, type Snapshot } from "../../../src/balancer/snapshot.js";
import type { PickContext, PickerDeps } from "../../../src/balancer/strategy.js";
import type { BackendSpec, LoadPolicy, ServiceConfig, StrategySpec } from "../../../src/model/specs.js";
import { Violations } from "../../../src/model/violations.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";

/** The epoch ms ManualClock starts at. */
export const T0 = 1_700_000_000_000;

/** A backend spec with defaults (weight 1, tier 0, no zone, no labels, unlimited). */
export function spec(id: string, extra: Partial<BackendSpec> = {}): BackendSpec {
  return {
    id,
    address: `${id}.local:80`,
    host: `${id}.local`,
    port: 80,
    weight: 1,
    zone: "",
    tier: 0,
    labels: {},
    maxConnections: 0,
    quotas: [],
    healthCheck: undefined,
    leaseTtlMs: 0,
    ...extra,
  };
}

/** A healthy backend state, active since `activeSince` (default long before T0: no slow start). */
export function backend(id: string, extra: Partial<BackendSpec> = {}, activeSince = 0): BackendState {
  return newBackendState(spec(id, extra), "healthy", activeSince);
}

/** Backends `ids` with the given weights, in order. */
export function weighted(weights: Record<string, number>): BackendState[] {
  return Object.entries(weights).map(([id, weight]) => backend(id, { weight }));
}

/** The default config with a strategy and load overrides. */
export function config(
  strategy: Partial<StrategySpec> = {},
  load: Partial<LoadPolicy> = {},
  extra: Partial<ServiceConfig> = {},
): ServiceConfig {
  const base = parseServiceConfig(undefined, new Violations());
  return {
    ...base,
    ...extra,
    strategy: { name: "round_robin", settings: {}, fallback: undefined, ...strategy },
    load: { ...base.load, ...load },
  };
}

/** Picker deps on a ManualClock at T0 and a seeded Random. */
export function deps(seed = 42): PickerDeps & { clock: ManualClock } {
  return { clock: new ManualClock(T0), random: createSeededRandom(seed) };
}

/** A snapshot of `backends` under `cfg`. */
export function snapshotOf(backends: BackendState[], cfg = config(), d: PickerDeps = deps()): Snapshot {
  return buildSnapshot(backends, cfg, 1, d);
}

/** A query with defaults (count 1, no filters). */
export function query(extra: Partial<SelectQuery> = {}): SelectQuery {
  return { hashKey: "", exclude: [], zone: "", labels: {}, count: 1, explain: false, ...extra };
}

/** Selects once; the decision. */
export function select(
  snapshot: Snapshot,
  extra: Partial<SelectQuery> = {},
  context?: Partial<PickContext>,
): SelectDecision {
  const q = query(extra);
  return selectFromSnapshot(snapshot, q, {
    hashKey: q.hashKey,
    quota: FULL_QUOTA,
    serviceInFlight: 0,
    ...context,
  });
}

/** The id picked by one Select, or "-" when none. */
export function pickId(snapshot: Snapshot, extra: Partial<SelectQuery> = {}): string {
  const decision = selectFromSnapshot(snapshot, query(extra));
  return decision.kind === "picked" ? decision.backends.map((b) => b.spec.id).join("+") : "-";
}

/** `n` picks as ids. */
export function pickIds(snapshot: Snapshot, n: number, extra: Partial<SelectQuery> = {}): string[] {
  return Array.from({ length: n }, () => pickId(snapshot, extra));
}

/** Counts of each id in `ids`. */
export function tally(ids: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const id of ids) counts[id] = (counts[id] ?? 0) + 1;
  return counts;
}
