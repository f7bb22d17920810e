/**
 * The per-service figures /metrics shows, with label cardinality capped:
 * the first `maxServices` services by name get their own series, the rest are summed under
 * service="_other".
 */
import type { ServiceTable } from "../balancer/service-table.js";
import type { ServiceFigures } from "../observability/metrics.js";

/** The name the services past the cap are summed under. */
export const OTHER_SERVICES = "_other";

function stateOf(backend: { health: string; draining: boolean; maintenance: boolean }): string {
  if (backend.maintenance) return "maintenance";
  return backend.draining ? "draining" : backend.health;
}

/** Figures of every service in `services`, at most `maxServices` of them named. */
export function serviceFigures(services: ServiceTable, maxServices: number): ServiceFigures[] {
  const live = [...services.all()].sort((a, b) => (a.name < b.name ? -1 : 1));
  const figures: ServiceFigures[] = [];
  const other = { name: OTHER_SERVICES, backends: {} as Record<string, number>, inFlight: 0 };
  for (const [index, service] of live.entries()) {
    const into =
      index < maxServices
        ? { name: service.name, backends: {} as Record<string, number>, inFlight: 0 }
        : other;
    for (const backend of service.backends.values()) {
      const state = stateOf(backend);
      into.backends[state] = (into.backends[state] ?? 0) + 1;
      into.inFlight += backend.inFlight;
    }
    if (into !== other) figures.push(into);
  }
  if (live.length > maxServices) figures.push(other);
  return figures;
}
