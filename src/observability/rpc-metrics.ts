/** RPC metrics (behaviour.md O1): calls by method and code, handler time, open Watch streams. */
import { Counter, Gauge, type Registry } from "prom-client";
import { type DurationTally, RpcDurations } from "./rpc-durations.js";

/** Handler-time buckets in seconds: 50 us (a cached Select) to 5 s (a slow stream). */
const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5];

/** Calls of one method answered with one code, not yet added to the counter. */
interface CodeTally {
  readonly labels: { readonly method: string; readonly code: string };
  calls: number;
}

/** One RPC method's figures: calls by code since the last scrape, handler time. */
interface RpcTally {
  /** Undefined after the histogram was reset: the next call takes the method's new totals. */
  duration: DurationTally | undefined;
  /** The usual code, kept apart from the map. */
  readonly ok: CodeTally;
  readonly otherCodes: Map<string, CodeTally>;
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
 * They read as prom-client's own Counter and Histogram fed every call would: the same series
 * in the same order (the order calls were first seen), and a reset forgets the calls not yet
 * scraped and drops the histogram's series.
 */
export function createRpcMetrics(registry: Registry): RpcMetrics {
  const tallies = new Map<string, RpcTally>();
  /** Code tallies with calls since the last scrape, in the order of their first call: the order prom-client adds series. */
  const unscraped: CodeTally[] = [];
  const requests = new Counter({
    name: "fulcrum_rpc_requests_total",
    help: "RPCs handled, by method and status code.",
    labelNames: ["method", "code"] as const,
    registers: [registry],
    collect() {
      for (const tally of unscraped) {
        requests.inc(tally.labels, tally.calls);
        tally.calls = 0;
      }
      unscraped.length = 0;
    },
  });
  const resetRequests = requests.reset.bind(requests);
  requests.reset = () => {
    resetRequests();
    for (const tally of unscraped) tally.calls = 0;
    unscraped.length = 0;
  };
  const durations = new RpcDurations(
    "fulcrum_rpc_duration_seconds",
    "Handler time of RPCs, by method.",
    DURATION_BUCKETS,
    registry,
    () => {
      for (const tally of tallies.values()) tally.duration = undefined;
    },
  );
  const watchers = new Gauge({
    name: "fulcrum_watchers",
    help: "Open Watch streams, on the gRPC and web ports together.",
    registers: [registry],
  });
  const tallyOf = (method: string): RpcTally => {
    let tally = tallies.get(method);
    if (!tally) {
      tally = {
        duration: undefined,
        ok: { labels: { method, code: "ok" }, calls: 0 },
        otherCodes: new Map(),
      };
      tallies.set(method, tally);
    }
    return tally;
  };
  const otherCodeOf = (tally: RpcTally, code: string): CodeTally => {
    let codeTally = tally.otherCodes.get(code);
    if (!codeTally) {
      codeTally = { labels: { method: tally.ok.labels.method, code }, calls: 0 };
      tally.otherCodes.set(code, codeTally);
    }
    return codeTally;
  };
  return {
    recordRpc(method, code, seconds) {
      const tally = tallyOf(method);
      const codeTally = code === "ok" ? tally.ok : otherCodeOf(tally, code);
      if (codeTally.calls++ === 0) unscraped.push(codeTally);
      tally.duration ??= durations.tally(method);
      durations.observe(tally.duration, seconds);
    },
    watchStream(delta) {
      watchers.inc(delta);
    },
  };
}
