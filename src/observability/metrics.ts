import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Fulcrum's Prometheus metrics (behaviour.md O1). Hooks never throw into the request path. */
export interface Metrics {
  readonly registry: Registry;
  /** Records one finished RPC. */
  recordRpc(method: string, code: string, seconds: number): void;
  /** Sets the number of open Watch streams. */
  setWatchers(count: number): void;
  /** Counts one health transition (H1). */
  recordHealthTransition(to: string): void;
  /** Counts one active-check result (H5). */
  recordProbe(status: string): void;
  /** Counts one xDS response pushed, ACK or NACK received, by resource type (X3). */
  recordXds(event: "push" | "ack" | "nack", resourceType: string): void;
  /** Sets the number of open xDS streams of one protocol (sotw or delta). */
  setXdsStreams(protocol: string, count: number): void;
  /**
   * Reports figures read at scrape time: quota decisions, cache counters per cache, open
   * tickets. `read` must be cheap and must not throw.
   */
  observeAtScrape(read: () => ScrapeFigures): void;
}

/** Figures read when /metrics is scraped. */
export interface ScrapeFigures {
  readonly quota: {
    readonly denied: number;
    readonly shadowDenied: number;
    readonly ignoredDimensions: number;
  };
  readonly caches: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly openTickets: number;
}

/** The metric children of one RPC method. */
interface RpcSeries {
  readonly duration: Histogram.Internal<"method">;
  count(code: string): Counter.Internal;
}

/** A fresh registry with the process metrics and Fulcrum's own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: "fulcrum_rpc_requests_total",
    help: "RPCs handled, by method and status code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "fulcrum_rpc_duration_seconds",
    help: "Handler time of RPCs, by method.",
    labelNames: ["method"] as const,
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers: [registry],
  });
  const watchers = new Gauge({
    name: "fulcrum_watchers",
    help: "Open Watch streams.",
    registers: [registry],
  });
  const transitions = new Counter({
    name: "fulcrum_health_transitions_total",
    help: "Health transitions, by the state entered.",
    labelNames: ["to"] as const,
    registers: [registry],
  });
  const probes = new Counter({
    name: "fulcrum_probe_results_total",
    help: "Active health check results, by status.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const xdsStreams = new Gauge({
    name: "fulcrum_xds_streams",
    help: "Open xDS (ADS) streams, by protocol: sotw or delta.",
    labelNames: ["protocol"] as const,
    registers: [registry],
  });
  const xdsEvents = new Counter({
    name: "fulcrum_xds_messages_total",
    help: "xDS responses pushed and ACKs / NACKs received, by event and resource type.",
    labelNames: ["event", "type"] as const,
    registers: [registry],
  });
  // Each RPC records two series; their label children are looked up once, not hashed per call.
  const series = new Map<string, RpcSeries>();
  const rpcSeries = (method: string): RpcSeries => {
    let found = series.get(method);
    if (!found) {
      const byCode = new Map<string, Counter.Internal>();
      found = {
        duration: duration.labels({ method }),
        count(code) {
          let counter = byCode.get(code);
          if (!counter) {
            counter = requests.labels({ method, code });
            byCode.set(code, counter);
          }
          return counter;
        },
      };
      series.set(method, found);
    }
    return found;
  };
  let read: (() => ScrapeFigures) | undefined;
  new Gauge({
    name: "fulcrum_quota_decisions",
    help: "Quota decisions since start: denied, shadow_denied (shadow mode), ignored_dimensions (Q8).",
    labelNames: ["decision"] as const,
    registers: [registry],
    collect() {
      const quota = read?.().quota;
      if (!quota) return;
      this.set({ decision: "denied" }, quota.denied);
      this.set({ decision: "shadow_denied" }, quota.shadowDenied);
      this.set({ decision: "ignored_dimensions" }, quota.ignoredDimensions);
    },
  });
  new Gauge({
    name: "fulcrum_cache_operations",
    help: "Tiered cache counters since start (L1/L2 hits, misses, errors, evictions...), by cache.",
    labelNames: ["cache", "counter"] as const,
    registers: [registry],
    collect() {
      for (const [cache, counters] of Object.entries(read?.().caches ?? {})) {
        for (const [counter, value] of Object.entries(counters)) this.set({ cache, counter }, value);
      }
    },
  });
  new Gauge({
    name: "fulcrum_open_tickets",
    help: "Selects not yet reported (in-flight slots held by this replica).",
    registers: [registry],
    collect() {
      this.set(read?.().openTickets ?? 0);
    },
  });
  return {
    registry,
    recordRpc(method, code, seconds) {
      try {
        const rpc = rpcSeries(method);
        rpc.count(code).inc();
        rpc.duration.observe(seconds);
      } catch {
        // A metrics failure must never fail the call it measures.
      }
    },
    setWatchers(count) {
      watchers.set(count);
    },
    recordHealthTransition(to) {
      transitions.inc({ to });
    },
    recordProbe(status) {
      probes.inc({ status });
    },
    recordXds(event, type) {
      xdsEvents.inc({ event, type });
    },
    setXdsStreams(protocol, count) {
      xdsStreams.set({ protocol }, count);
    },
    observeAtScrape(reader) {
      read = reader;
    },
  };
}
