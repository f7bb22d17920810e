/**
 * X1 X2 with Debian's python3-grpcio 1.51 (C-core, its own xDS resolver and balancers) in its
 * own process, configured only by GRPC_XDS_BOOTSTRAP: calls spread by weight over Fulcrum's
 * backends and follow SetHealth. Every wait is a bounded poll.
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

let app: App;
let backends: EchoBackend[];
let client: XdsClientProcess;
let clients: ReturnType<typeof grpcTransportClients>;

const untilSpread = (accept: (spread: Spread) => boolean) =>
  eventually(async () => {
    const spread = await client.call(40);
    return accept(spread) ? spread : undefined;
  }, 20_000);

beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcTransportClients(app.grpcPort);
  backends = await Promise.all(["p0", "p1", "p2"].map((id) => startEchoBackend(id)));
  await clients.registry.register({
    service: "pyecho",
    backends: backends.map((b, i) => ({ id: b.id, address: `127.0.0.1:${b.port}`, weight: i === 2 ? 2 : 1 })),
    config: { strategy: { strategy: Strategy.WEIGHTED_RANDOM } },
  });
  client = startXdsClient("python", "pyecho", writeBootstrap(app.xdsPort, "python-client"));
  await eventually(async () => ((await client.call(1)).errors === 0 ? true : undefined), 50_000);
}, 60_000);

afterAll(async () => {
  client?.stop();
  await app?.close();
  await Promise.all(backends?.map((b) => b.stop()) ?? []);
});

describe("grpcio dialing xds:///pyecho through Fulcrum", { timeout: 60_000 }, () => {
  it("X1 X2: calls spread over the healthy backends by weight", async () => {
    await untilSpread((s) => s.errors === 0 && Object.keys(s.counts).length === 3);
    const spread = await client.call(400);
    expect(spread.errors).toBe(0);
    const share = (id: string) => (spread.counts[id] ?? 0) / 400;
    expect(share("p2")).toBeGreaterThan(0.35);
    expect(share("p2")).toBeLessThan(0.65);
    expect(share("p0")).toBeGreaterThan(0.1);
    expect(share("p1")).toBeGreaterThan(0.1);
  });

  it("X2: SetHealth UNHEALTHY stops a backend's calls, HEALTHY brings them back", async () => {
    await clients.registry.setHealth({ service: "pyecho", backendId: "p1", health: 3, reason: "test" });
    await untilSpread((s) => s.errors === 0 && !s.counts.p1);
    expect((await client.call(100)).counts.p1 ?? 0).toBe(0);
    await clients.registry.setHealth({ service: "pyecho", backendId: "p1", health: 1, reason: "test" });
    await untilSpread((s) => (s.counts.p1 ?? 0) > 0);
  });
});
