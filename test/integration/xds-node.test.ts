/**
 * X1-X3 with a client we did not write: @grpc/grpc-js + @grpc/grpc-js-xds in its own process,
 * configured only by a bootstrap file naming Fulcrum's xDS port, dials xds:///echo and calls
 * three real gRPC backends on loopback. Every wait is a bounded poll, never a timing assertion.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";
import {
  type EchoBackend,
  type Spread,
  startEchoBackend,
  startXdsClient,
  writeBootstrap,
  type XdsClientProcess,
} from "./xds-harness.js";

const SERVICE = "echo";
/** Generous bound for a change to reach the client process (the promise is 100 ms). */
const REACTION_BOUND_MS = 10_000;

let app: App;
let backends: EchoBackend[];
let client: XdsClientProcess;
let clients: ReturnType<typeof grpcTransportClients>;

const backendOf = (backend: EchoBackend, weight: number) => ({
  id: backend.id,
  address: `127.0.0.1:${backend.port}`,
  weight,
});

/** Polls batches of calls until one satisfies `accept`; returns that batch. */
function untilSpread(accept: (spread: Spread) => boolean, batch = 40): Promise<Spread> {
  return eventually(async () => {
    const spread = await client.call(batch);
    return accept(spread) ? spread : undefined;
  }, REACTION_BOUND_MS);
}

beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcTransportClients(app.grpcPort);
  backends = await Promise.all(["b0", "b1", "b2", "b3"].map((id) => startEchoBackend(id)));
  await clients.registry.register({
    service: SERVICE,
    backends: [backendOf(backends[0]!, 1), backendOf(backends[1]!, 1), backendOf(backends[2]!, 2)],
    config: { strategy: { strategy: Strategy.SMOOTH_WEIGHTED } },
  });
  client = startXdsClient("node", SERVICE, writeBootstrap(app.xdsPort, "node-client"));
  // Loading grpc-js-xds in a fresh process takes seconds on a busy machine: wait for a first answer.
  await eventually(async () => ((await client.call(1)).errors === 0 ? true : undefined), 50_000);
}, 60_000);

afterAll(async () => {
  client?.stop();
  await app?.close();
  await Promise.all(backends?.map((backend) => backend.stop()) ?? []);
});

describe("grpc-js-xds dialing xds:///echo through Fulcrum", { timeout: 60_000 }, () => {
  it("X1 X2: calls spread over the healthy backends by weight", async () => {
    await untilSpread((s) => s.errors === 0 && Object.keys(s.counts).length === 3);
    const spread = await client.call(400);
    expect(spread.errors).toBe(0);
    // Weights 1:1:2 are carried as locality weights: b2 gets about half.
    const share = (id: string) => (spread.counts[id] ?? 0) / 400;
    expect(share("b2")).toBeGreaterThan(0.35);
    expect(share("b2")).toBeLessThan(0.65);
    expect(share("b0")).toBeGreaterThan(0.1);
    expect(share("b1")).toBeGreaterThan(0.1);
  });

  it("X2: SetHealth UNHEALTHY stops a backend's calls, HEALTHY brings them back", async () => {
    await clients.registry.setHealth({ service: SERVICE, backendId: "b1", health: 3, reason: "test" });
    await untilSpread((s) => s.errors === 0 && !s.counts.b1);
    const after = await client.call(100);
    expect(after.counts.b1 ?? 0).toBe(0);
    expect(after.counts.b0).toBeGreaterThan(0);
    await clients.registry.setHealth({ service: SERVICE, backendId: "b1", health: 1, reason: "test" });
    await untilSpread((s) => (s.counts.b1 ?? 0) > 0);
  });

  it("X2: a draining backend gets no new calls while it is still registered", async () => {
    // An open ticket keeps b0 in flight, so the drain holds it instead of removing it at once.
    const held = await clients.balancer.select({ service: SERVICE, exclude: ["b1", "b2"] });
    expect(held.backends[0]?.id).toBe("b0");
    await clients.registry.deregister({
      service: SERVICE,
      backendIds: ["b0"],
      drain: true,
      drainTimeout: { seconds: 60n },
    });
    await untilSpread((s) => s.errors === 0 && !s.counts.b0);
    const status = await clients.registry.getService({ service: SERVICE });
    expect(status.service?.backends.find((b) => b.backend?.id === "b0")?.draining).toBe(true);
    expect((await client.call(100)).counts.b0 ?? 0).toBe(0);
  });

  it("X1: Deregister removes a backend; a newly registered one gets calls", async () => {
    await clients.registry.deregister({ service: SERVICE, backendIds: ["b1"] });
    await untilSpread((s) => s.errors === 0 && !s.counts.b1);
    await clients.registry.register({ service: SERVICE, mode: 2, backends: [backendOf(backends[3]!, 2)] });
    const spread = await untilSpread((s) => (s.counts.b3 ?? 0) > 0);
    expect(spread.counts.b1 ?? 0).toBe(0);
    expect(spread.errors).toBe(0);
  });

  it("X3: /metrics counts open streams, pushes and ACKs per resource type", async () => {
    const text = await (await fetch(`http://127.0.0.1:${app.webPort}/metrics`)).text();
    expect(text).toMatch(/fulcrum_xds_streams\{protocol="sotw"\} [1-9]/);
    for (const type of ["listener", "route", "cluster", "endpoint"]) {
      expect(text).toMatch(new RegExp(`fulcrum_xds_messages_total\\{event="push",type="${type}"\\} [1-9]`));
      expect(text).toMatch(new RegExp(`fulcrum_xds_messages_total\\{event="ack",type="${type}"\\} [1-9]`));
    }
  });
});
