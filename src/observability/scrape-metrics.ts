/**
 * Figures the core keeps as plain numbers, read when /metrics is scraped (O1): quota decisions
 * and tiered-cache operations are running totals, so they are Counters (advanced by what grew
 * since the last scrape); cache sizes and open tickets are levels, so Gauges.
 */
import { Counter, Gauge, type Registry } from "prom-client";

/** Figures read when /metrics is scraped. */
export interface ScrapeFigures {
  readonly quota: {
    readonly denied: number;
    readonly shadowDenied: number;
    readonly ignoredDimensions: number;
  };
  /** Per cache kind, its counters since start (CacheStats), levels included. */
  readonly caches: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly openTickets: number;
  /** Per service (capped, the rest summed as "_other"): backends by state, calls in flight here. */
  readonly services: readonly ServiceFigures[];
  /**
   * Sessions pinned to the service, read from the pin store (Redis when shared, so every
   * replica shows the same figure); undefined when it cannot be read now or for "_other".
   */
  readonly pinnedSessions: (service: string) => Promise<number | undefined>;
}

/** One service's figures for the per-service gauges. */
export interface ServiceFigures {
  readonly name: string;
  /** Backends per state: healthy, degraded, unhealthy, recovering, draining, maintenance. */
  readonly backends: Readonly<Record<string, number>>;
  /** Calls this replica has in flight to the service. */
  readonly inFlight: number;
  /** Per quota dimension, the remaining share of the service's pool (0-1) as this replica saw it. */
  readonly quotaHeadroom: Readonly<Record<string, number>>;
}

/** Cache figures that are levels, not running totals: they go to fulcrum_cache_entries. */
const CACHE_LEVELS: Readonly<Record<string, string>> = { l1Size: "l1", suppressedKeys: "suppressed" };

/**
 * A Counter child moved up to `total` (a running total kept elsewhere), shown from its first
 * scrape on, 0 included; a total that went down is ignored.
 */
function advance(counter: Counter.Internal, seen: Map<string, number>, key: string, total: number): void {
  const last = seen.get(key);
  const delta = total - (last ?? 0);
  if (last !== undefined && delta <= 0) return;
  counter.inc(Math.max(0, delta));
  seen.set(key, Math.max(total, last ?? 0));
}

/** Registers the scrape-time metrics in `registry`; they read `read()` (cheap, never throws). */
export function createScrapeMetrics(registry: Registry, read: () => ScrapeFigures | undefined): void {
  const quotaSeen = new Map<string, number>();
  new Counter({
    name: "fulcrum_quota_decisions_total",
    help: "Quota decisions: denied, shadow_denied (shadow mode), ignored_dimensions (Q8).",
    labelNames: ["decision"] as const,
    registers: [registry],
    collect() {
      const quota = read()?.quota;
      if (!quota) return;
      advance(this.labels({ decision: "denied" }), quotaSeen, "denied", quota.denied);
      advance(this.labels({ decision: "shadow_denied" }), quotaSeen, "shadow_denied", quota.shadowDenied);
      advance(this.labels({ decision: "ignored_dimensions" }), quotaSeen, "ignored", quota.ignoredDimensions);
    },
  });
  const cacheSeen = new Map<string, number>();
  new Counter({
    name: "fulcrum_cache_operations_total",
    help: "Tiered cache operations (L1/L2 hits, misses, errors, evictions...), by cache and operation.",
    labelNames: ["cache", "operation"] as const,
    registers: [registry],
    collect() {
      for (const [cache, counters] of Object.entries(read()?.caches ?? {}))
        for (const [operation, total] of Object.entries(counters))
          if (!(operation in CACHE_LEVELS))
            advance(this.labels({ cache, operation }), cacheSeen, `${cache}/${operation}`, total);
    },
  });
  new Gauge({
    name: "fulcrum_cache_entries",
    help: "Tiered cache sizes now: l1 entries, suppressed keys (C6), by cache.",
    labelNames: ["cache", "kind"] as const,
    registers: [registry],
    collect() {
      for (const [cache, counters] of Object.entries(read()?.caches ?? {}))
        for (const [field, kind] of Object.entries(CACHE_LEVELS))
          this.set({ cache, kind }, counters[field] ?? 0);
    },
  });
  createServiceGauges(registry, read);
  new Gauge({
    name: "fulcrum_open_tickets",
    help: "Selects not yet reported (in-flight slots held by this replica).",
    registers: [registry],
    collect() {
      this.set(read()?.openTickets ?? 0);
    },
  });
}

/** The per-service gauges: backends by state, in flight, quota headroom, pins. */
function createServiceGauges(registry: Registry, read: () => ScrapeFigures | undefined): void {
  new Gauge({
    name: "fulcrum_service_backends",
    help: "Backends per service by state (health, or draining / maintenance); at most metrics.maxServices services, the rest as _other.",
    labelNames: ["service", "state"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const service of read()?.services ?? [])
        for (const [state, count] of Object.entries(service.backends))
          this.set({ service: service.name, state }, count);
    },
  });
  new Gauge({
    name: "fulcrum_service_in_flight",
    help: "Calls in flight per service from this replica; at most metrics.maxServices services, the rest as _other.",
    labelNames: ["service"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const service of read()?.services ?? []) this.set({ service: service.name }, service.inFlight);
    },
  });
  new Gauge({
    name: "fulcrum_service_quota_headroom",
    help: "Remaining share (0-1) of each quota dimension over a service's backends, as this replica last saw it; at most metrics.maxServices services, the rest as _other.",
    labelNames: ["service", "dimension"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const service of read()?.services ?? [])
        for (const [dimension, ratio] of Object.entries(service.quotaHeadroom))
          this.set({ service: service.name, dimension }, ratio);
    },
  });
  new Gauge({
    name: "fulcrum_service_pins",
    help: "Sessions pinned per service, read from the pin store at scrape time (shared through Redis); at most metrics.maxServices services, none for _other; a service whose pins cannot be read now is left out.",
    labelNames: ["service"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const figures = read();
      if (!figures) return;
      const names = figures.services.map((service) => service.name);
      const counts = await Promise.all(names.map((name) => figures.pinnedSessions(name)));
      names.forEach((service, i) => {
        const count = counts[i];
        if (count !== undefined) this.set({ service }, count);
      });
    },
  });
}
