/**
 * An RPC on the web port whose request names no usable host (HTTP/1.0 without Host, a Host no
 * URL can hold) is answered 400, and the server goes on serving: building its request must not
 * throw out of the request listener, which would end the process.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { connectClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

let app: App;
beforeAll(async () => {
  app = await startFulcrum();
});
afterAll(() => app.close());

/** Everything the server sends back for `request` on a connection of its own, until it closes. */
function exchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(request));
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk;
    });
    socket.on("close", () => resolve(received));
    socket.on("error", reject);
  });
}

const rpc = (requestLine: string, hostHeader: string) =>
  `POST /fulcrum.v1.RegistryService/ListServices ${requestLine}\r\n${hostHeader}` +
  "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";

describe("a web RPC without a usable host", () => {
  it.each([
    ["HTTP/1.0 without Host", rpc("HTTP/1.0", "")],
    ["a Host no URL can hold", rpc("HTTP/1.1", "Host: [\r\n")],
  ])("is answered 400 and the server goes on: %s", async (_name, request) => {
    expect(await exchange(app.webPort, request)).toMatch(/^HTTP\/1\.1 400 .*no usable host/s);
    const { registry } = connectClients(app.webPort);
    expect((await registry.listServices({})).services).toBeDefined();
  });
});
