/**
 * Fulcrum's Prometheus metrics (behaviour.md O1), one concept per file: RPCs (rpc-metrics.ts),
 * core events (event-metrics.ts), figures read at scrape time (scrape-metrics.ts). Hooks never
 * throw into the request path.
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import { createEventMetrics, type EventMetrics } from "./event-metrics.js";
import { createRpcMetrics, type RpcMetrics } from "./rpc-metrics.js";
import { createScrapeMetrics, type ScrapeFigures } from "./scrape-metrics.js";

export type { ScrapeFigures, ServiceFigures } from "./scrape-metrics.js";

/** Every metric hook, and the registry /metrics serves. */
export interface Metrics extends RpcMetrics, EventMetrics {
  readonly registry: Registry;
  /**
   * Reports figures read at scrape time: quota decisions, cache counters per cache, open
   * tickets. `read` must be cheap and must not throw.
   */
  observeAtScrape(read: () => ScrapeFigures): void;
}

/** A fresh registry with the process metrics and Fulcrum's own. */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  let read: (() => ScrapeFigures) | undefined;
  createScrapeMetrics(registry, () => read?.());
  return {
    registry,
    ...createRpcMetrics(registry),
    ...createEventMetrics(registry),
    observeAtScrape(reader) {
      read = reader;
    },
  };
}
