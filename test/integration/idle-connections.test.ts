/**
 * Sockets that cost a connection without doing work are closed on both ports, with small
 * configured timeouts: silent sockets, half an HTTP/2 preface, HTTP/1.1 headers sent one line
 * at a time (slowloris). The only bound is "closed eventually"; nothing here measures speed.
 */
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { startFulcrum } from "../support/server.js";

/** How long a socket may stay open before the test calls it never closed. */
const BOUND_MS = 10_000;
let app: App;
beforeAll(async () => {
  app = await startFulcrum({
    web: { prefaceTimeoutMs: 300, headersTimeoutMs: 500, idleTimeoutMs: 800 },
    grpc: { idleTimeoutMs: 800 },
  });
});
afterAll(async () => {
  await app?.close();
});

/** Connects, writes `first` (if any), then calls `drip` every 100 ms; resolves true once the server closes it. */
async function closedByServer(port: number, first?: string, drip?: (i: number) => string): Promise<boolean> {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => {});
  socket.on("data", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  if (first) socket.write(first);
  let i = 0;
  const dripper = drip ? setInterval(() => socket.writable && socket.write(drip(i++)), 100) : undefined;
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), BOUND_MS);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  clearInterval(dripper);
  socket.destroy();
  return closed;
}

const HALF_PREFACE = "PRI * HTTP/2.0\r\n";

describe("idle and slow connections", () => {
  it("a silent socket is closed on the web port and on the gRPC port", async () => {
    expect(await closedByServer(app.webPort)).toBe(true);
    expect(await closedByServer(app.grpcPort)).toBe(true);
  });

  it("half an HTTP/2 preface is closed on both ports", async () => {
    expect(await closedByServer(app.webPort, HALF_PREFACE)).toBe(true);
    expect(await closedByServer(app.grpcPort, HALF_PREFACE)).toBe(true);
  });

  it("HTTP/1.1 headers that never finish (slowloris) are closed on the web port", async () => {
    const start = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    expect(await closedByServer(app.webPort, start, (i) => `x-slow-${i}: 1\r\n`)).toBe(true);
  });

  it("an idle HTTP/1.1 keep-alive connection is closed after its request", async () => {
    const request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    expect(await closedByServer(app.webPort, request)).toBe(true);
  });
});
