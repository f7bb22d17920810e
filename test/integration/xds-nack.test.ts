/**
 * X3 NACK: a stream that rejects a response is logged with its error and counted, gets
 * nothing resent until the next change, and the other clients (grpc-js-xds in its own
 * process) keep being served. Plus the SotW basics a bare stream can check: versions follow
 * service versions, and a deregistered service disappears from LDS.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";
import { type AdsProbe, openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";
import {
  type EchoBackend,
  startEchoBackend,
  startXdsClient,
  writeBootstrap,
  type XdsClientProcess,
} from "./xds-harness.js";

const logLines: string[] = [];
let app: App;
let backends: EchoBackend[];
let other: XdsClientProcess;
let probe: AdsProbe;
let clients: ReturnType<typeof grpcTransportClients>;

beforeAll(async () => {
  const logger = pino({ level: "warn" }, { write: (line: string) => void logLines.push(line) });
  app = await startFulcrum({}, { logger });
  clients = grpcTransportClients(app.grpcPort);
  backends = await Promise.all(["b0", "b1"].map((id) => startEchoBackend(id)));
  await clients.registry.register({
    service: "echo",
    backends: backends.map((b) => ({ id: b.id, address: `127.0.0.1:${b.port}` })),
  });
  other = startXdsClient("node", "echo", writeBootstrap(app.xdsPort, "well-behaved"));
  await eventually(async () => ((await other.call(1)).errors === 0 ? true : undefined), 50_000);
  probe = openAdsProbe(app.xdsPort, "sotw");
}, 60_000);

afterAll(async () => {
  probe?.close();
  other?.stop();
  await app?.close();
  await Promise.all(backends?.map((b) => b.stop()) ?? []);
});

const edsRequest = (extra: object) => ({
  type_url: TYPE_URL.endpoint,
  resource_names: ["echo"],
  ...extra,
});

describe("an xDS client that NACKs", { timeout: 60_000 }, () => {
  it("X3: the NACK is logged with the client's error and counted; others keep being served", async () => {
    probe.send(edsRequest({ node: { id: "nacker" }, version_info: "", response_nonce: "" }));
    const first = await probe.next();
    const { version } = await clients.registry.getService({ service: "echo" }).then((r) => r.service!);
    expect(first.version_info).toBe(String(version));
    probe.send(
      edsRequest({
        version_info: "",
        response_nonce: first.nonce,
        error_detail: { code: 3, message: "endpoint list rejected by the test client" },
      }),
    );
    await eventually(async () =>
      logLines.some((line) => line.includes("nacker") && line.includes("rejected by the test client"))
        ? true
        : undefined,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${app.webPort}/metrics`)).text();
    expect(metrics).toMatch(/fulcrum_xds_messages_total\{event="nack",type="endpoint"\} 1\b/);
    // The well-behaved client still balances over both backends.
    const spread = await other.call(60);
    expect(spread.errors).toBe(0);
    expect(Object.keys(spread.counts).sort()).toEqual(["b0", "b1"]);
  });

  it("X2 X3: the next change reaches every stream with the new service version", async () => {
    const { version } = await clients.registry.setHealth({
      service: "echo",
      backendId: "b1",
      health: 3,
      reason: "test",
    });
    const pushed = await probe.next((r) => r.type_url === TYPE_URL.endpoint);
    expect(pushed.version_info).toBe(String(version));
    const statuses = pushed.resources[0].endpoints.map(
      (e: { lb_endpoints: { health_status: string }[] }) => e.lb_endpoints[0]!.health_status,
    );
    expect(statuses.sort()).toEqual(["HEALTHY", "UNHEALTHY"]);
    await eventually(async () => {
      const spread = await other.call(30);
      return spread.errors === 0 && !spread.counts.b1 ? true : undefined;
    }, 10_000);
  });

  it("X1: a deregistered service leaves LDS (a SotW response without it)", async () => {
    probe.send({
      type_url: TYPE_URL.listener,
      resource_names: ["echo"],
      version_info: "",
      response_nonce: "",
    });
    const listed = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(listed.resources.map((r: { name: string }) => r.name)).toEqual(["echo"]);
    probe.send({ type_url: TYPE_URL.listener, resource_names: ["echo"], response_nonce: listed.nonce });
    await clients.registry.deregister({ service: "echo", backendIds: [] });
    const emptied = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(emptied.resources).toEqual([]);
  });
});
