/** RPC metrics (behaviour.md O1): calls by method and code, handler time, open Watch streams. */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Handler-time buckets in seconds: 50 us (a cached Select) to 5 s (a slow stream). */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];

/** The metric children of one RPC method. */
interface RpcSeries {
  readonly duration: Histogram.Internal<"method">;
  count(code: string): Counter.Internal;
}

/** What the RPC metrics record. */
export interface RpcMetrics {
  /** Records one finished RPC; never throws. */
  recordRpc(method: string, code: string, seconds: number): void;
  /** A Watch stream opened (+1) or ended (-1), on either port. */
  watchStream(delta: 1 | -1): void;
}

/** Registers the RPC metrics in `registry`. */
export function createRpcMetrics(registry: Registry): RpcMetrics {
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
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  const watchers = new Gauge({
    name: "fulcrum_watchers",
    help: "Open Watch streams, on the gRPC and web ports together.",
    registers: [registry],
  });
  // Each RPC records two series; their label children are looked up once, not hashed per call.
  const series = new Map<string, RpcSeries>();
  const rpcSeries = (method: string): RpcSeries => {
    let found = series.get(method);
    if (!found) {
      const byCode = new Map<string, Counter.Internal>();
      const count = (code: string) => {
        let counter = byCode.get(code);
        if (!counter) {
          counter = requests.labels({ method, code });
          byCode.set(code, counter);
        }
        return counter;
      };
      found = { duration: duration.labels({ method }), count };
      series.set(method, found);
    }
    return found;
  };
  return {
    recordRpc(method, code, seconds) {
      try {
        const rpc = rpcSeries(method);
        rpc.count(code).inc();
        rpc.duration.observe(seconds);
      } catch {
        // A metrics failure must never fail the call it measures.
      }
    },
    watchStream(delta) {
      watchers.inc(delta);
    },
  };
}
