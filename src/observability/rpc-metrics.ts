/** RPC metrics (behaviour.md O1): calls by method and code, handler time, open Watch streams. */
import { Counter, Gauge, type Registry } from "prom-client";
import { type DurationTally, RpcDurations } from "./rpc-durations.js";

/** Handler-time buckets in seconds: 50 us (a cached Select) to 5 s (a slow stream). */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];

/** One RPC method's figures since the last scrape: calls by code, handler time. */
interface RpcTally {
  readonly duration: DurationTally;
  /** Calls answered `ok` not yet added to the counter (the usual code, kept apart from the map). */
  ok: number;
  readonly otherCodes: Map<string, number>;
}

/** What the RPC metrics record. */
export interface RpcMetrics {
  /** Records one finished RPC; never throws. */
  recordRpc(method: string, code: string, seconds: number): void;
  /** A Watch stream opened (+1) or ended (-1), on either port. */
  watchStream(delta: 1 | -1): void;
}

/**
 * Registers the RPC metrics in `registry`. A call adds to plain per-method numbers; the
 * counter takes them when scraped (its collect hook) and the histogram is read from them.
 */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  const tallies = new Map<string, RpcTally>();
  const requests = new Counter({
    name: "fulcrum_rpc_requests_total",
    help: "RPCs handled, by method and status code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
    collect() {
      for (const [method, tally] of tallies) {
        if (tally.ok > 0) requests.inc({ method, code: "ok" }, tally.ok);
        for (const [code, calls] of tally.otherCodes) requests.inc({ method, code }, calls);
        tally.ok = 0;
        tally.otherCodes.clear();
      }
    },
  });
  const durations = new RpcDurations(
    "fulcrum_rpc_duration_seconds",
    "Handler time of RPCs, by method.",
    DURATION_BUCKETS,
    registry,
  );
  const watchers = new Gauge({
    name: "fulcrum_watchers",
    help: "Open Watch streams, on the gRPC and web ports together.",
    registers: [registry],
  });
  const tallyOf = (method: string): RpcTally => {
    let tally = tallies.get(method);
    if (!tally) {
      tally = { duration: durations.tally(method), ok: 0, otherCodes: new Map() };
      tallies.set(method, tally);
    }
    return tally;
  };
  return {
    recordRpc(method, code, seconds) {
      const tally = tallyOf(method);
      if (code === "ok") tally.ok++;
      else tally.otherCodes.set(code, (tally.otherCodes.get(code) ?? 0) + 1);
      durations.observe(tally.duration, seconds);
    },
    watchStream(delta) {
      watchers.inc(delta);
    },
  };
}
