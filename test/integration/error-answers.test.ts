/**
 * Error answers always arrive: a refused stream on the gRPC port gets its status, and an error
 * with a thousand violations or a huge name is cut to a bounded size on both ports, so the
 * channel it travelled on keeps working.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { grpc, grpcClients, unary, unaryError } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

const WAIT_MS = 5_000;
let app: App;
let clients: ReturnType<typeof grpcClients>;
beforeAll(async () => {
  app = await startFulcrum({ watch: { maxWatchers: 2 } });
  clients = grpcClients(app.grpcPort);
  await unary(clients.registry, "Register", {
    service: "errors.test",
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

/** The status a Watch ends with, or "no status" when none arrives within the bound. */
function watchStatus(stream: grpc.ClientReadableStream<unknown>): Promise<grpc.StatusObject | "no status"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("no status"), WAIT_MS);
    stream.on("data", () => {});
    stream.on("error", () => {});
    stream.on("status", (status: grpc.StatusObject) => {
      clearTimeout(timer);
      resolve(status);
    });
  });
}

const portless = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: "10.0.0.1" }));

describe("error answers", () => {
  it("a Watch past max_watchers gets RESOURCE_EXHAUSTED naming the limit on the gRPC port", async () => {
    // Other parts of the server (the xDS server) may hold watchers too: open Watches until the
    // hub is full (at most max_watchers = 2 of them), then one more must be refused with a status.
    const open: grpc.ClientReadableStream<unknown>[] = [];
    while (app.watchHub.watcherCount < 2 && open.length < 2) {
      const stream = clients.balancer.Watch({ services: ["errors.test"] });
      stream.on("error", () => {});
      await new Promise((resolve) => stream.once("data", resolve));
      open.push(stream);
    }
    const refused = await watchStatus(clients.balancer.Watch({ services: ["errors.test"] }));
    for (const stream of open) stream.cancel();
    expect(refused).not.toBe("no status");
    const status = refused as grpc.StatusObject;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain("max_watchers");
  });

  it("1,000 backends without ports get a bounded INVALID_ARGUMENT over grpc-js and the channel lives", async () => {
    const error = await unaryError(clients.registry, "Register", {
      service: "errors.test",
      backends: portless(1_000),
    });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toContain("backends[0].address");
    expect(error.details).toContain("999 more");
    const status = await unary<{ service: { backends: unknown[] } }>(clients.registry, "GetService", {
      service: "errors.test",
    });
    expect(status.service.backends).toHaveLength(1);
  });

  it("1,000 backends without ports get a bounded INVALID_ARGUMENT over h2c on the web port", async () => {
    const web = grpcTransportClients(app.webPort);
    const error = await web.registry
      .register({ service: "errors.test", backends: portless(1_000) })
      .then(() => undefined, ConnectError.from);
    expect(error?.code).toBe(Code.InvalidArgument);
    expect(error?.rawMessage).toContain("999 more");
    const answer = await web.balancer.select({ service: "errors.test" });
    expect(answer.backends.map((b) => b.id)).toEqual(["a"]);
  });

  it("a NOT_FOUND for a 65,000-character name is cut to a bounded message", async () => {
    const name = "n".repeat(65_000);
    const error = await unaryError(clients.balancer, "Select", { service: name });
    expect(error.code).not.toBe(grpc.status.INTERNAL);
    expect(error.details.length).toBeLessThan(1_000);
    expect(error.details).toMatch(/cut at \d+/);
  });
});
