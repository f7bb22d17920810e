/**
 * Explain names the filter of the one filter table that removed each backend (S16), for the
 * filters the layers around the balancer add: negative availability (P8), pin capacity (P6)
 * and quota (Q3 refused reservation, Q5 out of quota). Real server, real gRPC client.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallResult, QuotaAlgorithm, RoutingMode } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

let app: App;
let c: ReturnType<typeof grpcTransportClients>;
beforeAll(async () => {
  app = await startFulcrum({}, { clock: new ManualClock(1_800_000_000_000) });
  c = grpcTransportClients(app.grpcPort);
});
afterAll(() => app.close());

type SelectArgs = Parameters<typeof c.balancer.select>[0];

/** One Select with explain; the picked ids and what removed each backend ("" for candidates). */
async function explained(request: SelectArgs) {
  const response = await c.balancer.select({ ...request, explain: true });
  const removedBy = Object.fromEntries(
    (response.explanation?.candidates ?? []).map((candidate) => [candidate.backendId, candidate.removedBy]),
  );
  const filters = Object.fromEntries(
    (response.explanation?.filters ?? []).map((filter) => [filter.filter, filter.removed]),
  );
  return { picked: response.backends.map((b) => b.id), removedBy, filters, ticket: response.ticket };
}

const requests = (units: number) => ({
  dimension: "requests",
  limit: units,
  window: { seconds: 60n, nanos: 0 },
  algorithm: QuotaAlgorithm.SLIDING_WINDOW,
});

describe("explain names the filter the pick used", () => {
  it("S16 P8 a backend known to lack the resource_key is removed by negative_availability", async () => {
    await c.registry.register({
      service: "ex-neg",
      backends: [
        { id: "a", address: "10.9.0.1:80" },
        { id: "b", address: "10.9.0.2:80" },
      ],
    });
    await c.balancer.report({
      outcomes: [{ service: "ex-neg", backendId: "a", result: CallResult.NOT_FOUND, resourceKey: "k1" }],
    });
    const answer = await explained({ service: "ex-neg", resourceKey: "k1" });
    expect(answer.picked).toEqual(["b"]);
    expect(answer.removedBy).toEqual({ a: "negative_availability", b: "" });
    expect(answer.filters.negative_availability).toBe(1);
    // Without the key the same backend is a candidate again.
    expect((await explained({ service: "ex-neg" })).removedBy.a).toBe("");
  });

  it("S16 P6 a backend with no free pin slot is removed by pin_capacity", async () => {
    await c.registry.register({
      service: "ex-pins",
      config: { session: { routingMode: RoutingMode.STATEFUL } },
      // max_connections 2: one pinned session each (P6 keeps one slot for per-command use).
      backends: [
        { id: "a", address: "10.9.1.1:80", maxConnections: 2 },
        { id: "b", address: "10.9.1.2:80", maxConnections: 2 },
      ],
    });
    const first = await explained({ service: "ex-pins", sessionId: "s-1" });
    expect(first.picked).toHaveLength(1);
    const full = first.picked[0]!;
    const second = await explained({ service: "ex-pins", sessionId: "s-2" });
    expect(second.picked).not.toEqual([full]);
    expect(second.removedBy[full]).toBe("pin_capacity");
    expect(second.filters.pin_capacity).toBe(1);
  });

  it("S16 Q3 a backend whose reservation this Select was refused is removed by quota_denied", async () => {
    await c.registry.register({
      service: "ex-denied",
      backends: [
        { id: "small", address: "10.9.2.1:80", quotas: [requests(1)] },
        { id: "spare", address: "10.9.2.2:80", tier: 1 },
      ],
    });
    // A cost over small's whole limit: the gate refuses it there and the balancer chooses again.
    const answer = await explained({ service: "ex-denied", cost: { requests: 2 } });
    expect(answer.picked).toEqual(["spare"]);
    expect(answer.removedBy.small).toBe("quota_denied");
  });

  it("S16 Q5 a backend out of quota by its last known headroom is removed by out_of_quota", async () => {
    await c.registry.register({
      service: "ex-quota",
      backends: [
        { id: "small", address: "10.9.3.1:80", quotas: [requests(1)] },
        { id: "spare", address: "10.9.3.2:80", tier: 1 },
      ],
    });
    const first = await explained({ service: "ex-quota", cost: { requests: 1 } });
    expect(first.picked).toEqual(["small"]);
    const second = await explained({ service: "ex-quota", cost: { requests: 1 } });
    expect(second.picked).toEqual(["spare"]);
    expect(second.removedBy.small).toBe("out_of_quota");
    expect(second.filters.out_of_quota).toBe(1);
  });
});
