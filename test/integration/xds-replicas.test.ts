/**
 * X3 across replicas: two Fulcrums on one real redis-server serve the same xDS versions and
 * endpoints; a grpc-js-xds client on each follows a change made through either replica.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";
import { type AdsResponse, openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";
import {
  type EchoBackend,
  startEchoBackend,
  startXdsClient,
  writeBootstrap,
  type XdsClientProcess,
} from "./xds-harness.js";

let redis: RedisProcess;
let replicas: App[];
let backends: EchoBackend[];
let xdsClients: XdsClientProcess[];

beforeAll(async () => {
  redis = await startRedis();
  replicas = [];
  for (let i = 0; i < 2; i++) replicas.push(await startFulcrum({ redis: { url: redis.url } }));
  backends = await Promise.all(["r0", "r1", "r2"].map((id) => startEchoBackend(id)));
  await grpcTransportClients(replicas[0]!.grpcPort).registry.register({
    service: "shared",
    backends: backends.map((b) => ({ id: b.id, address: `127.0.0.1:${b.port}` })),
  });
  xdsClients = replicas.map((app, i) =>
    startXdsClient("node", "shared", writeBootstrap(app.xdsPort, `node-${i}`)),
  );
  for (const client of xdsClients)
    await eventually(async () => ((await client.call(1)).errors === 0 ? true : undefined), 50_000);
}, 90_000);

afterAll(async () => {
  for (const client of xdsClients ?? []) client.stop();
  for (const app of replicas ?? []) await app.close();
  await Promise.all(backends?.map((b) => b.stop()) ?? []);
  await redis?.stop();
});

/** The EDS response a fresh stream to `app` gets for "shared" once it is at `version`. */
function assignmentAt(app: App, version: string): Promise<AdsResponse> {
  return eventually(async () => {
    const probe = openAdsProbe(app.xdsPort, "sotw");
    try {
      probe.send({ node: { id: "probe" }, type_url: TYPE_URL.endpoint, resource_names: ["shared"] });
      const response = await probe.next(() => true, 5_000);
      return response.version_info === version ? response : undefined;
    } finally {
      probe.close();
    }
  }, 20_000);
}

describe("two replicas on one Redis", { timeout: 90_000 }, () => {
  it("X3: serve the same version and endpoints, and both clients reach every backend", async () => {
    for (const client of xdsClients)
      await eventually(async () => {
        const spread = await client.call(40);
        return spread.errors === 0 && Object.keys(spread.counts).length === 3 ? true : undefined;
      }, 20_000);
    const version = String(
      (await grpcTransportClients(replicas[1]!.grpcPort).registry.getService({ service: "shared" })).service!
        .version,
    );
    const [first, second] = await Promise.all(replicas.map((app) => assignmentAt(app, version)));
    expect(first!.resources).toEqual(second!.resources);
  });

  it("X2 X3: SetHealth through one replica reaches the clients of both", async () => {
    const { version } = await grpcTransportClients(replicas[1]!.grpcPort).registry.setHealth({
      service: "shared",
      backendId: "r1",
      health: 3,
      reason: "test",
    });
    for (const client of xdsClients)
      await eventually(async () => {
        const spread = await client.call(40);
        return spread.errors === 0 && !spread.counts.r1 ? true : undefined;
      }, 20_000);
    const [first, second] = await Promise.all(replicas.map((app) => assignmentAt(app, String(version))));
    expect(first!.resources).toEqual(second!.resources);
  });
});
