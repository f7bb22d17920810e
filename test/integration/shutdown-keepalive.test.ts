/**
 * Shutdown under keep-alive (O4): once close() begins the web port takes no new requests, idle
 * keep-alive connections are closed instead of served to the deadline, and a Watch in flight
 * still ends cleanly. The deadline is set far beyond the test's own timeout, so waiting for it
 * would fail the test.
 */
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { grpc, grpcClients, unary } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

const REQUEST = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";

/** A keep-alive HTTP/1.1 connection with everything it received so far. */
async function keepAliveConnection(port: number) {
  const socket = net.connect(port, "127.0.0.1");
  let received = "";
  socket.on("data", (chunk) => {
    received += chunk;
  });
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise((resolve) => socket.once("connect", resolve));
  return { socket, closed, received: () => received };
}

describe("shutdown with keep-alive clients (O4)", () => {
  it("O4: after close() begins, keep-alive connections get no new answers and close; a Watch ends OK", async () => {
    const app = await startFulcrum({ shutdownDeadlineMs: 120_000 });
    const clients = grpcClients(app.grpcPort);
    await unary(clients.registry, "Register", { service: "s", backends: [{ id: "a", address: "a:1" }] });
    const watch = clients.balancer.Watch({ services: ["s"] });
    watch.on("error", () => {});
    await new Promise((resolve) => watch.once("data", resolve));
    const watchStatus = new Promise<grpc.StatusObject>((resolve) => watch.on("status", resolve));

    const idle = await keepAliveConnection(app.webPort);
    idle.socket.write(REQUEST);
    const busy = await keepAliveConnection(app.webPort);
    busy.socket.write(REQUEST);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(busy.received()).toMatch(/^HTTP\/1\.1 200/);
    const before = busy.received().length;

    const closing = app.close();
    // A request on an open keep-alive connection after shutdown began is not served.
    if (!busy.socket.destroyed) busy.socket.write(REQUEST);
    await Promise.all([idle.closed, busy.closed, closing]);
    expect(busy.received().slice(before)).not.toMatch(/HTTP\/1\.1 200/);
    expect((await watchStatus).code).toBe(grpc.status.OK);
    clients.close();
  });
});
