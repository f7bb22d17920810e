/**
 * A1 A2: with tls.clientCaFile every port requires a client certificate signed by that CA
 * (none, an expired one and one from another CA are refused at the handshake), and a
 * certificate's identity (URI/DNS SAN or CN) mapped in the tokens file's `certificates`
 * authorizes calls without a token, with the same scopes rules as tokens.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { expectAuthorized, expectCode, type TestToken, tokensFile, tokensYaml } from "../support/auth.js";
import { createTestCa, type IssuedCert, LOOPBACK_SAN, type TestCa } from "../support/certs.js";
import { grpc, unary, unaryError } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";
import {
  type ClientTls,
  connectTlsClients,
  grpcJsCredentials,
  grpcJsTlsClients,
  grpcTlsClients,
  httpsGet,
} from "../support/tls.js";
import { openAdsProbe, TYPE_URL } from "./xds-ads-probe.js";

const GATEWAY = "spiffe://fulcrum.test/gateway";
const ADMIN: TestToken = { name: "ops", token: "tok-admin-mtls", scopes: ["admin"] };
const BACKEND = { id: "b0", address: "10.0.0.1:80" };

let ca: TestCa;
let otherCa: TestCa;
let app: App;
const as: Record<"gateway" | "cnOnly" | "stranger" | "expired" | "untrusted" | "none", ClientTls> =
  {} as never;

const presenting = (cert: IssuedCert): ClientTls => ({ ca: ca.ca, cert: cert.cert, key: cert.key });

beforeAll(async () => {
  ca = await createTestCa();
  otherCa = await createTestCa("untrusted-ca");
  const server = await ca.issue("fulcrum", { san: LOOPBACK_SAN });
  as.gateway = presenting(await ca.issue("gateway", { san: `URI:${GATEWAY}` }));
  as.cnOnly = presenting(await ca.issue("reporter.internal"));
  as.stranger = presenting(await ca.issue("stranger", { san: "DNS:stranger.internal" }));
  as.expired = presenting(await ca.issue("gateway", { san: `URI:${GATEWAY}`, days: -1 }));
  const foreign = await otherCa.issue("gateway", { san: `URI:${GATEWAY}` });
  as.untrusted = { ca: ca.ca, cert: foreign.cert, key: foreign.key };
  as.none = { ca: ca.ca };
  const file = tokensFile(
    tokensYaml(
      [ADMIN],
      [
        { identity: GATEWAY, scopes: ["register:payments", "select:payments", "watch:payments"] },
        { identity: "reporter.internal", scopes: ["report:*"] },
      ],
    ),
  );
  app = await startFulcrum({
    tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.caFile },
    auth: { tokensFile: file.path },
  });
  await grpcTlsClients(app.grpcPort, as.stranger, ADMIN.token).registry.register({
    service: "ledger",
    backends: [BACKEND],
  });
});
afterAll(async () => {
  await app?.close();
  ca?.remove();
  otherCa?.remove();
});

const REFUSED = [
  { who: "none", what: "no certificate" },
  { who: "expired", what: "an expired certificate" },
  { who: "untrusted", what: "a certificate from another CA" },
] as const;

/** The ConnectError a call fails with, or undefined when it succeeds. */
async function connectFailure(promise: Promise<unknown>): Promise<ConnectError | undefined> {
  return promise.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
}

describe("mutual TLS: which client certificates get in (A1)", { timeout: 60_000 }, () => {
  it.each(REFUSED)("A1: a client with $what is refused on the gRPC port (grpc-js)", async ({ who }) => {
    const clients = grpcJsTlsClients(app.grpcPort, as[who]);
    const error = await unaryError(clients.registry, "ListServices", {});
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    clients.close();
  });

  it.each(REFUSED)(
    "A1: a client with $what is refused on the web port (HTTP/1.1, h2, HTTPS routes)",
    async ({ who }) => {
      for (const version of ["1.1", "2"] as const) {
        const failure = await connectFailure(
          connectTlsClients(app.webPort, as[who], version).registry.listServices({}),
        );
        expect(failure, `HTTP/${version}`).toBeInstanceOf(ConnectError);
        // The server ends the handshake: connect-node reports it as a transport failure, never a status the server sent.
        expect([Code.Unauthenticated, Code.PermissionDenied]).not.toContain(failure?.code);
      }
      await expect(httpsGet(app.webPort, "/healthz", as[who])).rejects.toThrow();
    },
  );

  it("A1: the web port's plain HTTPS routes answer a client with a certificate from the client CA", async () => {
    for (const who of ["gateway", "stranger"] as const) {
      expect(await httpsGet(app.webPort, "/healthz", as[who])).toBe(200);
    }
  });

  it.each(REFUSED)("A1: a client with $what is refused on the xDS port", async ({ who }) => {
    const probe = openAdsProbe(app.xdsPort, "sotw", undefined, grpcJsCredentials(as[who]));
    probe.send({ node: { id: "n" }, type_url: TYPE_URL.listener, resource_names: ["ledger"] });
    expect((await probe.ended).code).toBe(grpc.status.UNAVAILABLE);
    probe.close();
  });
});

describe("client certificate identities mapped to scopes (A2)", { timeout: 60_000 }, () => {
  it("A2: a URI SAN's scopes hold on the gRPC port; a scope it lacks is PERMISSION_DENIED naming it", async () => {
    const clients = grpcJsTlsClients(app.grpcPort, as.gateway);
    await unary(clients.registry, "Register", { service: "payments", backends: [BACKEND] });
    const picked = await unary<{ backends: { id: string }[] }>(clients.balancer, "Select", {
      service: "payments",
    });
    expect(picked.backends.map((b) => b.id)).toEqual(["b0"]);
    const denied = await unaryError(clients.balancer, "Select", { service: "ledger" });
    expect([denied.code, denied.details]).toEqual([
      grpc.status.PERMISSION_DENIED,
      "missing scope select:ledger",
    ]);
    clients.close();
  });

  it("A2: the same identity gets the same answers on the web port over HTTP/1.1 and h2", async () => {
    for (const version of ["1.1", "2"] as const) {
      const clients = connectTlsClients(app.webPort, as.gateway, version);
      expect((await clients.balancer.select({ service: "payments" })).backends[0]?.id).toBe("b0");
      const denied = await expectCode(
        clients.registry.register({ service: "ledger", backends: [BACKEND] }),
        Code.PermissionDenied,
      );
      expect(denied.rawMessage).toBe("missing scope register:ledger");
      expect((await clients.registry.listServices({})).services.map((s) => s.name)).toEqual(["payments"]);
    }
  });

  it("A2: the identity may watch its service over xDS and not another", async () => {
    const allowed = openAdsProbe(app.xdsPort, "sotw", undefined, grpcJsCredentials(as.gateway));
    allowed.send({ node: { id: "n" }, type_url: TYPE_URL.listener, resource_names: ["payments"] });
    expect((await allowed.next((r) => r.type_url === TYPE_URL.listener)).resources).toHaveLength(1);
    allowed.close();
    const denied = openAdsProbe(app.xdsPort, "sotw", undefined, grpcJsCredentials(as.gateway));
    denied.send({ node: { id: "n" }, type_url: TYPE_URL.listener, resource_names: ["ledger"] });
    const status = await denied.ended;
    expect([status.code, status.details]).toEqual([
      grpc.status.PERMISSION_DENIED,
      "missing scope watch:ledger",
    ]);
    denied.close();
  });

  it("A2: a certificate is matched by its CN too; a trusted but unmapped one is UNAUTHENTICATED", async () => {
    const reporter = grpcTlsClients(app.grpcPort, as.cnOnly);
    await expectAuthorized(
      reporter.balancer.report({ outcomes: [{ service: "payments", backendId: "b0", result: 1 }] }),
    );
    const denied = await expectCode(reporter.balancer.select({ service: "payments" }), Code.PermissionDenied);
    expect(denied.rawMessage).toBe("missing scope select:payments");
    const stranger = grpcTlsClients(app.grpcPort, as.stranger);
    await expectCode(stranger.balancer.select({ service: "payments" }), Code.Unauthenticated);
  });

  it("A2: a token sent beside a certificate is what authorizes the call", async () => {
    const admin = grpcTlsClients(app.grpcPort, as.stranger, ADMIN.token);
    expect((await admin.balancer.select({ service: "ledger" })).backends[0]?.id).toBe("b0");
    const wrongToken = grpcTlsClients(app.grpcPort, as.gateway, "tok-unknown");
    await expectCode(wrongToken.balancer.select({ service: "payments" }), Code.Unauthenticated);
  });
});
