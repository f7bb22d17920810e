import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Fulcrum's Prometheus metrics (behaviour.md O1). Hooks never throw into the request path. */
export interface Metrics {
  readonly registry: Registry;
  /** Records one finished RPC. */
  recordRpc(method: string, code: string, seconds: number): void;
  /** Sets the number of open Watch streams. */
  setWatchers(count: number): void;
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
  return {
    registry,
    recordRpc(method, code, seconds) {
      try {
        requests.inc({ method, code });
        duration.observe({ method }, seconds);
      } catch {
        // A metrics failure must never fail the call it measures.
      }
    },
    setWatchers(count) {
      watchers.set(count);
    },
  };
}
