/**
 * A1: with tls.certFile and tls.keyFile every port serves TLS: the gRPC port (grpc-js and
 * connect-node clients), the web port (Connect over HTTP/1.1 and HTTP/2 chosen by ALPN,
 * gRPC, plain HTTPS routes) and the xDS port (an ADS stream). O7: a TLS file that does not
 * load stops the start with one line naming the setting.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { createTestCa, type IssuedCert, LOOPBACK_SAN, type TestCa } from "../support/certs.js";
import { killCliProcesses, runCli, SERVE_ON_FREE_PORTS } from "../support/cli-process.js";
import { grpcClients, unary, unaryError } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";
import {
  type ClientTls,
  connectTlsClients,
  grpcJsCredentials,
  grpcJsTlsClients,
  grpcTlsClients,
  handshake,
  httpsGet,
} from "../support/tls.js";
import { openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";

let ca: TestCa;
let server: IssuedCert;
let app: App;
let trust: ClientTls;
const BACKEND = { id: "b0", address: "10.0.0.1:80" };

beforeAll(async () => {
  ca = await createTestCa();
  server = await ca.issue("fulcrum", { san: LOOPBACK_SAN });
  trust = { ca: ca.ca };
  app = await startFulcrum({ tls: { certFile: server.certFile, keyFile: server.keyFile } });
});
afterAll(async () => {
  await app?.close();
  ca?.remove();
});
afterEach(killCliProcesses);

describe("TLS on every port (A1)", { timeout: 60_000 }, () => {
  it("A1: the gRPC port serves TLS to grpc-js and connect-node clients, and refuses plaintext", async () => {
    const seen = await handshake(app.grpcPort, trust, ["h2"]);
    expect(seen.alpnProtocol).toBe("h2");
    const reference = grpcJsTlsClients(app.grpcPort, trust);
    await unary(reference.registry, "Register", { service: "tls-grpc", backends: [BACKEND] });
    const selected = await unary<{ backends: { id: string }[] }>(reference.balancer, "Select", {
      service: "tls-grpc",
    });
    expect(selected.backends.map((b) => b.id)).toEqual(["b0"]);
    reference.close();
    const connect = grpcTlsClients(app.grpcPort, trust);
    expect((await connect.balancer.select({ service: "tls-grpc" })).backends[0]?.id).toBe("b0");
    const plaintext = grpcClients(app.grpcPort);
    expect((await unaryError(plaintext.registry, "ListServices", {})).code).toBe(14);
    plaintext.close();
  });

  it("A1: the web port offers HTTP/1.1 and HTTP/2 by ALPN and serves Connect, gRPC and HTTPS routes on both", async () => {
    expect((await handshake(app.webPort, trust, ["h2", "http/1.1"])).alpnProtocol).toBe("h2");
    expect((await handshake(app.webPort, trust, ["http/1.1"])).alpnProtocol).toBe("http/1.1");
    for (const version of ["1.1", "2"] as const) {
      const clients = connectTlsClients(app.webPort, trust, version);
      await clients.registry.register({ service: `tls-web-${version}`, backends: [BACKEND] });
      const answer = await clients.balancer.select({ service: `tls-web-${version}` });
      expect(answer.backends[0]?.id).toBe("b0");
    }
    const grpcOverWeb = grpcTlsClients(app.webPort, trust);
    expect((await grpcOverWeb.balancer.select({ service: "tls-web-2" })).backends[0]?.id).toBe("b0");
    expect(await httpsGet(app.webPort, "/readyz", trust)).toBe(200);
  });

  it("A1: the xDS port serves an ADS stream over TLS", async () => {
    await grpcTlsClients(app.grpcPort, trust).registry.register({ service: "tls-xds", backends: [BACKEND] });
    expect((await handshake(app.xdsPort, trust, ["h2"])).alpnProtocol).toBe("h2");
    const probe = openAdsProbe(app.xdsPort, "sotw", undefined, grpcJsCredentials(trust));
    probe.send({ node: { id: "tls-node" }, type_url: TYPE_URL.listener, resource_names: ["tls-xds"] });
    const response = await probe.next((r) => r.type_url === TYPE_URL.listener);
    expect(response.resources).toHaveLength(1);
    probe.close();
  });
});

describe("TLS files that do not load (O7)", { timeout: 60_000 }, () => {
  it("O7: a missing certificate file stops the start in one line naming tls.certFile", async () => {
    const missing = join(ca.dir, "missing.pem");
    const run = runCli([...SERVE_ON_FREE_PORTS, "--tls-cert", missing, "--tls-key", server.keyFile]);
    expect(await run.exited).toBe(2);
    expect(run.err().trimEnd().split("\n")).toEqual([
      `fulcrum: tls.certFile: cannot read ${missing} (ENOENT)`,
    ]);
  });

  it("O7: a key of another certificate, or a file that is not PEM, is refused naming the setting", async () => {
    const other = await ca.issue("other", { san: LOOPBACK_SAN });
    await expect(
      startFulcrum({ tls: { certFile: server.certFile, keyFile: other.keyFile } }),
    ).rejects.toThrow("tls.keyFile: does not match the certificate in tls.certFile");
    const garbage = join(ca.dir, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    await expect(startFulcrum({ tls: { certFile: garbage, keyFile: server.keyFile } })).rejects.toThrow(
      "tls.certFile: does not hold a PEM certificate",
    );
    await expect(
      startFulcrum({ tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: garbage } }),
    ).rejects.toThrow("tls.clientCaFile: does not hold a PEM CA certificate");
  });

  it("O7: tls.certFile without tls.keyFile is a configuration error naming tls.keyFile", async () => {
    await expect(startFulcrum({ tls: { certFile: server.certFile } })).rejects.toThrow("tls.keyFile");
  });
});
