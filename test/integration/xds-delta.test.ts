/**
 * X1 X3 over the incremental protocol (DeltaAggregatedResources). Neither grpc-js-xds 1.14 nor
 * grpcio 1.51 speaks it and there is no Envoy here, so a bare stream over the vendored Envoy
 * protos drives it: wildcard LDS, EDS by name, a change sends only what changed, a
 * deregistered service arrives as removed_resources, and a reconnect holding an old version
 * gets the current one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";
import { type AdsProbe, openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";

let app: App;
let probe: AdsProbe;
let clients: ReturnType<typeof grpcTransportClients>;

const versionOf = async (service: string) =>
  String((await clients.registry.getService({ service })).service!.version);

beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcTransportClients(app.grpcPort);
  for (const service of ["alpha", "beta"])
    await clients.registry.register({
      service,
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
      ],
    });
  probe = openAdsProbe(app.xdsPort, "delta");
}, 60_000);

afterAll(async () => {
  probe?.close();
  await app?.close();
});

describe("incremental xDS", { timeout: 60_000 }, () => {
  it("X1: a wildcard LDS subscription gets every service's Listener, EDS by name its assignment", async () => {
    probe.send({ node: { id: "delta-client" }, type_url: TYPE_URL.listener });
    const listeners = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(listeners.resources.map((r: { name: string }) => r.name).sort()).toEqual(["alpha", "beta"]);
    probe.send({ type_url: TYPE_URL.listener, response_nonce: listeners.nonce });
    probe.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ["alpha"] });
    const endpoints = await probe.next((r) => r.type_url === TYPE_URL.endpoint);
    expect(endpoints.resources).toHaveLength(1);
    expect(endpoints.resources[0].name).toBe("alpha");
    expect(endpoints.resources[0].version).toBe(await versionOf("alpha"));
    probe.send({ type_url: TYPE_URL.endpoint, response_nonce: endpoints.nonce });
  });

  it("X2 X3: a health change sends only the changed assignment, at the new service version", async () => {
    const { version } = await clients.registry.setHealth({
      service: "alpha",
      backendId: "b",
      health: 3,
      reason: "test",
    });
    const pushed = await probe.next((r) => r.type_url === TYPE_URL.endpoint);
    expect(pushed.resources.map((r: { name: string; version: string }) => [r.name, r.version])).toEqual([
      ["alpha", String(version)],
    ]);
    const health = pushed.resources[0].resource.endpoints.map(
      (e: { lb_endpoints: { health_status: string }[] }) => e.lb_endpoints[0]!.health_status,
    );
    expect(health.sort()).toEqual(["HEALTHY", "UNHEALTHY"]);
    probe.send({ type_url: TYPE_URL.endpoint, response_nonce: pushed.nonce });
  });

  it("X1: a deregistered service arrives as removed_resources", async () => {
    await clients.registry.deregister({ service: "alpha", backendIds: [] });
    const removedListener = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(removedListener.removed_resources).toEqual(["alpha"]);
    const removedEndpoints = await probe.next((r) => r.type_url === TYPE_URL.endpoint);
    expect(removedEndpoints.removed_resources).toEqual(["alpha"]);
  });

  it("X3: a reconnect holding an old version gets the current one", async () => {
    const fresh = openAdsProbe(app.xdsPort, "delta");
    try {
      fresh.send({
        node: { id: "reconnecting" },
        type_url: TYPE_URL.endpoint,
        resource_names_subscribe: ["beta"],
        initial_resource_versions: { beta: "0" },
      });
      const response = await fresh.next((r) => r.type_url === TYPE_URL.endpoint);
      expect(response.resources.map((r: { name: string; version: string }) => [r.name, r.version])).toEqual([
        ["beta", await versionOf("beta")],
      ]);
    } finally {
      fresh.close();
    }
  });
});
