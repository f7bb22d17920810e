import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createRpcMetrics } from "../../../src/observability/rpc-metrics.js";

/** What createRpcMetrics registered before its figures were tallied per call: prom-client's own metrics. */
function promClientTwin() {
  const registry = new Registry();
  const requests = new Counter({
    name: "fulcrum_rpc_requests_total",
    help: "RPCs handled, by method and status code.",
    labelNames: ["method", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "fulcrum_rpc_duration_seconds",
    help: "Handler time of RPCs, by method.",
    labelNames: ["method"],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5],
    registers: [registry],
  });
  const record = (method: string, code: string, seconds: number) => {
    requests.inc({ method, code });
    duration.observe({ method }, seconds);
  };
  return { registry, record };
}

/** The exposition text of `registry` without the watcher gauge only one side has. */
async function rpcSeries(registry: Registry): Promise<string> {
  return (await registry.metrics())
    .split("\n\n")
    .filter((block) => !block.includes("fulcrum_watchers"))
    .join("\n\n")
    .trim();
}

describe("RPC metrics", () => {
  it("O1 calls by method and code and the handler-time histogram read as prom-client's metrics would, scrape after scrape", async () => {
    const registry = new Registry();
    const metrics = createRpcMetrics(registry);
    const twin = promClientTwin();
    const calls: [string, string, number][] = [
      ["BalancerService/Select", "ok", 0.00004],
      ["BalancerService/Select", "ok", 0.00005],
      ["BalancerService/Select", "resource_exhausted", 0.0003],
      ["RegistryService/ListServices", "ok", 0.002],
      ["BalancerService/Select", "ok", 7],
      ["RegistryService/ListServices", "permission_denied", 0.1],
    ];
    for (const [i, call] of calls.entries()) {
      metrics.recordRpc(...call);
      twin.record(...call);
      if (i % 2 === 1) expect(await rpcSeries(registry)).toBe(await rpcSeries(twin.registry));
    }
    expect(await rpcSeries(registry)).toContain(
      'fulcrum_rpc_duration_seconds_bucket{le="0.00005",method="BalancerService/Select"} 2',
    );
  });
});
