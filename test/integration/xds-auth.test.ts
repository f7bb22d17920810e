/**
 * The xDS port obeys the tokens file like the other ports (A2, X1): a stream without a known
 * token is UNAUTHENTICATED, a resource of a service the token may not watch is
 * PERMISSION_DENIED naming `watch:<service>`, a wildcard subscription needs `watch:*`, and a
 * token with `watch:<service>` gets that service's resources.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcClientsWithToken, type TestToken, tokensFile, tokensYaml } from "../support/auth.js";
import { startFulcrum } from "../support/server.js";
import { openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";

const ADMIN: TestToken = { name: "ops", token: "tok-admin-x1", scopes: ["admin"] };
const MESH: TestToken = { name: "mesh", token: "tok-mesh-x1", scopes: ["watch:payments"] };
const NODE = { id: "test-node", locality: { zone: "z1" } };

let app: App;
beforeAll(async () => {
  const file = tokensFile(tokensYaml([ADMIN, MESH]));
  app = await startFulcrum({ auth: { tokensFile: file.path } });
  const admin = grpcClientsWithToken(app.grpcPort, ADMIN.token);
  for (const service of ["payments", "ledger"])
    await admin.registry.register({ service, backends: [{ id: "b0", address: "10.0.0.1:80" }] });
});
afterAll(() => app?.close());

const listeners = (names: string[]) => ({ node: NODE, type_url: TYPE_URL.listener, resource_names: names });

describe("xDS streams and the tokens file", () => {
  it("A2 X1: a stream without a token is UNAUTHENTICATED", async () => {
    const probe = openAdsProbe(app.xdsPort, "sotw");
    probe.send(listeners(["payments"]));
    expect((await probe.ended).code).toBe(grpc.status.UNAUTHENTICATED);
    probe.close();
  });

  it("A2 X1: a token with watch:payments gets the payments listener", async () => {
    const probe = openAdsProbe(app.xdsPort, "sotw", MESH.token);
    probe.send(listeners(["payments"]));
    const response = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(response.resources).toHaveLength(1);
    probe.close();
  });

  it("A2 X1: on a delta stream, a scoped token subscribes by name and its ACKs keep the stream", async () => {
    const probe = openAdsProbe(app.xdsPort, "delta", MESH.token);
    probe.send({ node: NODE, type_url: TYPE_URL.listener, resource_names_subscribe: ["payments"] });
    const first = await probe.next((r) => r.type_url === TYPE_URL.listener);
    // The ACK carries no names; then the same stream subscribes to the endpoints and gets them.
    probe.send({ type_url: TYPE_URL.listener, response_nonce: first.nonce, resource_names_subscribe: [] });
    probe.send({ type_url: TYPE_URL.endpoint, resource_names_subscribe: ["payments"] });
    const endpoints = await probe.next((r) => r.type_url === TYPE_URL.endpoint);
    expect(endpoints.resources).toHaveLength(1);
    probe.close();
  });

  it("A2 X1: asking for a service the token may not watch is PERMISSION_DENIED naming the scope", async () => {
    const probe = openAdsProbe(app.xdsPort, "sotw", MESH.token);
    probe.send(listeners(["ledger"]));
    const status = await probe.ended;
    expect([status.code, status.details]).toEqual([
      grpc.status.PERMISSION_DENIED,
      "missing scope watch:ledger",
    ]);
    probe.close();
  });

  it("A2 X1: a wildcard listener subscription needs watch:*; admin may", async () => {
    const denied = openAdsProbe(app.xdsPort, "delta", MESH.token);
    denied.send({ node: NODE, type_url: TYPE_URL.listener, resource_names_subscribe: [] });
    expect((await denied.ended).details).toBe("missing scope watch:*");
    denied.close();
    const admin = openAdsProbe(app.xdsPort, "sotw", ADMIN.token);
    admin.send(listeners([]));
    const response = await admin.next((r) => r.type_url === TYPE_URL.listener);
    expect(response.resources.length).toBeGreaterThanOrEqual(2);
    admin.close();
  });
});
