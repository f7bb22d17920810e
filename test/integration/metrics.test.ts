import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthState, RoutingMode } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { connectClients, grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

let app: App;
beforeAll(async () => {
  app = await startFulcrum();
});
afterAll(() => app.close());

const scrape = async () => (await fetch(`http://127.0.0.1:${app.webPort}/metrics`)).text();

describe("O1 metrics", () => {
  it("count RPCs by method and code, health transitions, quota decisions and open tickets", async () => {
    const { registry, balancer } = grpcTransportClients(app.grpcPort);
    await registry.register({
      service: "m",
      config: { health: { failureThreshold: 1 } },
      backends: [
        {
          id: "a",
          address: "10.0.0.1:80",
          quotas: [{ dimension: "requests", limit: 1, window: { seconds: 60n } }],
        },
      ],
    });
    const held = await balancer.select({ service: "m" });
    await balancer.select({ service: "m" }).catch(() => undefined);
    await balancer.report({ outcomes: [{ service: "m", backendId: "a", result: 2 }] });
    const text = await scrape();
    expect(text).toMatch(/fulcrum_rpc_requests_total\{method="BalancerService\/Select",code="ok"\} 1\b/);
    expect(text).toMatch(
      /fulcrum_rpc_requests_total\{method="BalancerService\/Select",code="resource_exhausted"\} 1\b/,
    );
    expect(text).toMatch(/fulcrum_health_transitions_total\{to="unhealthy"\} 1\b/);
    expect(text).toMatch(/# TYPE fulcrum_quota_decisions_total counter/);
    expect(text).toMatch(/# TYPE fulcrum_cache_operations_total counter/);
    expect(text).toMatch(/fulcrum_open_tickets 1\b/);
    await balancer.report({ outcomes: [{ ticket: held.ticket, result: 1 }] });
    expect(await scrape()).toMatch(/fulcrum_open_tickets 0\b/);
  });
});

describe("O1 live gauges", () => {
  it("fulcrum_watchers counts the Watch streams open now, on the gRPC and the web port", async () => {
    const watchers = async () => Number(/^fulcrum_watchers (\d+)/m.exec(await scrape())?.[1]);
    const before = await watchers();
    const abort = new AbortController();
    const open = async (stream: AsyncIterable<unknown>) => {
      try {
        for await (const _ of stream);
      } catch {
        // aborted
      }
    };
    const streams = [
      open(grpcTransportClients(app.grpcPort).balancer.watch({}, { signal: abort.signal })),
      open(connectClients(app.webPort).balancer.watch({}, { signal: abort.signal })),
    ];
    await eventually(async () => ((await watchers()) === before + 2 ? true : undefined));
    abort.abort();
    await Promise.all(streams);
    await eventually(async () => ((await watchers()) === before ? true : undefined));
  });
});

describe("O1 per-service gauges", () => {
  it("backends by state and in-flight per service, at most metrics.maxServices services, the rest as _other", async () => {
    const capped = await startFulcrum({ metrics: { maxServices: 1 } });
    try {
      const { registry, balancer } = grpcTransportClients(capped.grpcPort);
      for (const service of ["alpha", "beta", "gamma"])
        await registry.register({
          service,
          backends: [
            { id: "a", address: "10.0.0.1:80" },
            { id: "b", address: "10.0.0.2:80" },
          ],
        });
      await registry.setHealth({ service: "alpha", backendId: "a", health: HealthState.UNHEALTHY });
      await balancer.select({ service: "alpha" });
      const text = await (await fetch(`http://127.0.0.1:${capped.webPort}/metrics`)).text();
      expect(text).toMatch(/fulcrum_service_backends\{service="alpha",state="maintenance"\} 1\b/);
      expect(text).toMatch(/fulcrum_service_backends\{service="alpha",state="healthy"\} 1\b/);
      expect(text).toMatch(/fulcrum_service_backends\{service="_other",state="healthy"\} 4\b/);
      expect(text).toMatch(/fulcrum_service_in_flight\{service="alpha"\} 1\b/);
      expect(text).not.toMatch(/service="beta"/);
    } finally {
      await capped.close();
    }
  });

  it("quota headroom per service and dimension: the pool's remaining share", async () => {
    const app = await startFulcrum({});
    try {
      const { registry, balancer } = grpcTransportClients(app.grpcPort);
      const tokens = { dimension: "tokens", limit: 1_000, window: { seconds: 60n } };
      await registry.register({
        service: "llm",
        backends: [
          { id: "a", address: "10.0.0.1:80", quotas: [tokens] },
          { id: "b", address: "10.0.0.2:80", quotas: [tokens] },
        ],
      });
      await balancer.select({ service: "llm", cost: { tokens: 100 } });
      await registry.getService({ service: "llm" }); // reads both backends' quota
      const text = await (await fetch(`http://127.0.0.1:${app.webPort}/metrics`)).text();
      // 1,900 of 2,000 tokens left over the pool.
      expect(text).toMatch(/fulcrum_service_quota_headroom\{service="llm",dimension="tokens"\} 0\.95\b/);
    } finally {
      await app.close();
    }
  });

  it("sessions pinned per service, the same figure on every replica sharing Redis", async () => {
    const redis = await startRedis();
    const replicas = [
      await startFulcrum({ redis: { url: redis.url } }),
      await startFulcrum({ redis: { url: redis.url } }),
    ];
    try {
      const [a, b] = replicas.map((replica) => grpcTransportClients(replica.grpcPort));
      await a!.registry.register({
        service: "nntp",
        config: { session: { routingMode: RoutingMode.STATEFUL } },
        backends: [
          { id: "a", address: "10.0.0.1:119" },
          { id: "b", address: "10.0.0.2:119" },
        ],
      });
      for (const sessionId of ["s1", "s2", "s3"]) await a!.balancer.select({ service: "nntp", sessionId });
      await b!.balancer.endSession({ service: "nntp", sessionId: "s2" });
      for (const replica of replicas) {
        const text = await (await fetch(`http://127.0.0.1:${replica.webPort}/metrics`)).text();
        expect(text).toMatch(/fulcrum_service_pins\{service="nntp"\} 2\b/);
      }
      await redis.stop();
      // With Redis gone the figure is left out, not shown wrong, and the scrape still answers.
      const text = await (await fetch(`http://127.0.0.1:${replicas[1]!.webPort}/metrics`)).text();
      expect(text).toMatch(/fulcrum_service_backends\{service="nntp",state="healthy"\} 2\b/);
      expect(text).not.toMatch(/fulcrum_service_pins\{service="nntp"\}/);
    } finally {
      for (const replica of replicas) await replica.close();
      await redis.stop();
    }
  });
});
