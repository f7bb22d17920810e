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

type Call = [method: string, code: string, seconds: number];

/** createRpcMetrics and prom-client's twin, each in its own registry, fed the same calls. */
function sideBySide() {
  const ours = new Registry();
  const metrics = createRpcMetrics(ours);
  const twin = promClientTwin();
  return {
    ours,
    both: [ours, twin.registry],
    record(...call: Call) {
      metrics.recordRpc(...call);
      twin.record(...call);
    },
    async expectSame() {
      expect(await rpcSeries(ours)).toBe(await rpcSeries(twin.registry));
    },
  };
}

/** The JSON series without the watcher gauge and prom-client's empty exemplar placeholders. */
async function jsonSeries(registry: Registry) {
  return (await registry.getMetricsAsJSON())
    .filter((metric) => metric.name !== "fulcrum_watchers")
    .map((metric) => ({
      ...metric,
      values: metric.values.map(({ labels, value, ...rest }) => ({
        labels,
        value,
        metricName: (rest as { metricName?: string }).metricName,
      })),
    }));
}

describe("RPC metrics", () => {
  it("O1 calls by method and code and the handler-time histogram read as prom-client's metrics would, scrape after scrape", async () => {
    const side = sideBySide();
    const calls: Call[] = [
      ["BalancerService/Select", "ok", 0.00004],
      ["BalancerService/Select", "ok", 0.00005],
      ["BalancerService/Select", "resource_exhausted", 0.0003],
      ["RegistryService/ListServices", "ok", 0.002],
      ["BalancerService/Select", "ok", 7],
      ["RegistryService/ListServices", "permission_denied", 0.1],
    ];
    for (const [i, call] of calls.entries()) {
      side.record(...call);
      if (i % 2 === 1) await side.expectSame();
    }
    expect(await rpcSeries(side.ours)).toContain(
      'fulcrum_rpc_duration_seconds_bucket{le="0.00005",method="BalancerService/Select"} 2',
    );
  });

  it("O1 series of interleaved methods and codes come in the order first seen, with the registry's default labels, as prom-client's do", async () => {
    const side = sideBySide();
    for (const registry of side.both) registry.setDefaultLabels({ replica: "r1" });
    const scrapes: Call[][] = [
      [
        ["BalancerService/Select", "internal", 0.001],
        ["RegistryService/ListServices", "ok", 0.002],
        ["BalancerService/Select", "ok", 0.0001],
      ],
      [
        ["BalancerService/Report", "unavailable", 0.01],
        ["BalancerService/Select", "ok", 0.0002],
        ["RegistryService/ListServices", "internal", 0.3],
        ["BalancerService/Report", "ok", 0.00003],
      ],
    ];
    for (const calls of scrapes) {
      for (const call of calls) side.record(...call);
      await side.expectSame();
    }
    expect(await rpcSeries(side.ours)).toContain(
      'fulcrum_rpc_requests_total{method="BalancerService/Select",code="internal",replica="r1"} 1',
    );
    const [ours, theirs] = side.both as [Registry, Registry];
    expect(await jsonSeries(ours)).toEqual(await jsonSeries(theirs));
  });

  it("O1 a reset forgets calls not yet scraped and drops the histogram's series, as prom-client's does", async () => {
    const side = sideBySide();
    side.record("BalancerService/Select", "ok", 0.0001);
    await side.expectSame();
    side.record("BalancerService/Select", "ok", 0.0001);
    side.record("RegistryService/ListServices", "internal", 0.002);
    for (const registry of side.both) registry.resetMetrics();
    await side.expectSame();
    expect(await rpcSeries(side.ours)).not.toContain("method=");
    side.record("RegistryService/ListServices", "ok", 0.002);
    side.record("BalancerService/Select", "ok", 0.0001);
    await side.expectSame();
    for (const registry of side.both) registry.getSingleMetric("fulcrum_rpc_duration_seconds")!.reset();
    side.record("BalancerService/Select", "ok", 0.004);
    await side.expectSame();
    for (const registry of side.both) registry.getSingleMetric("fulcrum_rpc_requests_total")!.reset();
    side.record("BalancerService/Select", "internal", 0.004);
    await side.expectSame();
  });
});
