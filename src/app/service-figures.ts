/**
 * The per-service figures /metrics shows, with label cardinality capped:
 * the first `maxServices` services by name get their own series, the rest are summed under
 * service="_other".
 */
import type { BackendState } from "../balancer/backend-state.js";
import type { ServiceTable } from "../balancer/service-table.js";
import type { ServiceFigures } from "../observability/metrics.js";
import type { PinStore } from "../sessions/pin-store.js";

/** A backend's remaining units and limit per dimension, when its quota is known. */
export type HeadroomOf = (
  backend: BackendState,
) => Readonly<Record<string, { readonly remaining: number; readonly limit: number }>> | undefined;

/** A service's figures while they are summed: quota as remaining and limit totals per dimension. */
interface Tally {
  readonly name: string;
  readonly backends: Record<string, number>;
  inFlight: number;
  readonly quota: Record<string, { remaining: number; limit: number }>;
}

const tally = (name: string): Tally => ({ name, backends: {}, inFlight: 0, quota: {} });

function add(into: Tally, backend: BackendState, headroomOf: HeadroomOf): void {
  const state = stateOf(backend);
  into.backends[state] = (into.backends[state] ?? 0) + 1;
  into.inFlight += backend.inFlight;
  for (const [dimension, { remaining, limit }] of Object.entries(headroomOf(backend) ?? {})) {
    const sum = into.quota[dimension] ?? { remaining: 0, limit: 0 };
    into.quota[dimension] = { remaining: sum.remaining + remaining, limit: sum.limit + limit };
  }
}

/** The figures of a tally: quota headroom per dimension as the pool's remaining share. */
function figuresOf({ name, backends, inFlight, quota }: Tally): ServiceFigures {
  const quotaHeadroom: Record<string, number> = {};
  for (const [dimension, { remaining, limit }] of Object.entries(quota))
    if (limit > 0) quotaHeadroom[dimension] = remaining / limit;
  return { name, backends, inFlight, quotaHeadroom };
}

/** The name the services past the cap are summed under. */
export const OTHER_SERVICES = "_other";

function stateOf(backend: { health: string; draining: boolean; maintenance: boolean }): string {
  if (backend.maintenance) return "maintenance";
  return backend.draining ? "draining" : backend.health;
}

/**
 * Figures of every service in `services`, at most `maxServices` of them named. Quota headroom
 * per dimension is the pool's remaining units over its limits, over the backends whose quota
 * this replica has seen.
 */
export function serviceFigures(
  services: ServiceTable,
  maxServices: number,
  headroomOf: HeadroomOf,
): ServiceFigures[] {
  const live = [...services.all()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const figures: ServiceFigures[] = [];
  const other = tally(OTHER_SERVICES);
  for (const [index, service] of live.entries()) {
    const into = index < maxServices ? tally(service.name) : other;
    for (const backend of service.backends.values()) add(into, backend, headroomOf);
    if (into !== other) figures.push(figuresOf(into));
  }
  if (live.length > maxServices) figures.push(figuresOf(other));
  return figures;
}

/**
 * Sessions pinned to a service, summed over its backends from the pin store; undefined for the
 * "_other" series (counting them would cost a store call per service past the cap) and while
 * the store cannot answer (the scrape shows no figure rather than a wrong one).
 */
export function pinnedSessionsOf(pins: Pick<PinStore, "countByBackend">) {
  return async (service: string): Promise<number | undefined> => {
    if (service === OTHER_SERVICES) return undefined;
    try {
      let total = 0;
      for (const count of (await pins.countByBackend(service)).values()) total += count;
      return total;
    } catch {
      return undefined;
    }
  };
}
