/**
 * CORS on the web port: the allowed origins come from web.corsOrigins; a
 * preflight from an allowed origin is answered with Connect's methods and headers, and a
 * cross-origin Connect and gRPC-Web call carries the headers a browser needs to read it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { connectClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

const ALLOWED = "http://dashboard.example:8080";
const SELECT = "/fulcrum.v1.BalancerService/Select";

let app: App;
let closed: App;
beforeAll(async () => {
  [app, closed] = await Promise.all([startFulcrum({ web: { corsOrigins: [ALLOWED] } }), startFulcrum()]);
  await connectClients(app.webPort).registry.register({
    service: "web",
    backends: [{ id: "b0", address: "10.0.0.1:80" }],
  });
});
afterAll(async () => {
  await Promise.all([app?.close(), closed?.close()]);
});

function preflight(port: number, origin: string, headers: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${SELECT}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": headers },
  });
}

describe("CORS on the web port", () => {
  it("answers a preflight from an allowed origin with Connect's methods and headers", async () => {
    const response = await preflight(app.webPort, ALLOWED, "content-type,connect-protocol-version");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    const allowed = response.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const header of ["content-type", "connect-protocol-version", "x-grpc-web", "grpc-timeout"])
      expect(allowed).toContain(header);
  });

  it("a cross-origin Connect call and a gRPC-Web call carry the origin and exposed headers", async () => {
    const connect = await fetch(`http://127.0.0.1:${app.webPort}${SELECT}`, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/json" },
      body: JSON.stringify({ service: "web" }),
    });
    expect(connect.status).toBe(200);
    expect(connect.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(((await connect.json()) as { backends: { id: string }[] }).backends[0]?.id).toBe("b0");
    // An empty SelectRequest frame: the call fails with a gRPC status, which the browser must be able to read.
    const grpcWeb = await fetch(`http://127.0.0.1:${app.webPort}${SELECT}`, {
      method: "POST",
      headers: { origin: ALLOWED, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: new Uint8Array([0, 0, 0, 0, 0]),
    });
    expect(grpcWeb.status).toBe(200);
    expect(grpcWeb.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(grpcWeb.headers.get("access-control-expose-headers")!.toLowerCase()).toContain("grpc-status");
  });

  it("refuses other origins, and every origin when none is configured", async () => {
    const other = await preflight(app.webPort, "http://evil.example", "content-type");
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const none = await preflight(closed.webPort, ALLOWED, "content-type");
    expect(none.status).not.toBe(204);
    expect(none.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("allows any origin with an explicit *", async () => {
    const any = await startFulcrum({ web: { corsOrigins: ["*"] } });
    try {
      const response = await preflight(any.webPort, "http://anywhere.example", "content-type");
      expect(response.status).toBe(204);
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
    } finally {
      await any.close();
    }
  });
});
