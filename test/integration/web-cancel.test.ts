/**
 * A client that goes away in the middle of a Watch on the web port ends the server's handler:
 * its watcher is released, whatever the protocol and HTTP version, and whether an HTTP/2 client
 * resets the stream with CANCEL or closes it with NO_ERROR. Nothing but the request's abort
 * signal tells the handler, so a signal that never aborted would leave the watchers open.
 */
import * as http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BalancerService, WatchRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
import type { App } from "../../src/app/create-app.js";
import { until } from "../support/eventually.js";
import { grpcFrame, grpcHeaders } from "../support/raw-grpc.js";
import { startFulcrum } from "../support/server.js";

const SERVICE = "web-cancel";
const WATCHES = 3;
/** No heartbeat within a test: a write to a closed stream would end a handler the signal missed. */
const HEARTBEAT_MS = 3_600_000;
let app: App;
beforeAll(async () => {
  app = await startFulcrum({ watch: { heartbeatMs: HEARTBEAT_MS } });
  const registry = createGrpcTransport({ baseUrl: `http://127.0.0.1:${app.grpcPort}` });
  await createClient(RegistryService, registry).register({
    service: SERVICE,
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
});
afterAll(() => app.close());

const baseUrl = () => `http://127.0.0.1:${app.webPort}`;
const transports = {
  "Connect over HTTP/1.1": () => createConnectTransport({ baseUrl: baseUrl(), httpVersion: "1.1" }),
  "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: baseUrl(), httpVersion: "1.1" }),
  "Connect over h2c": () => createConnectTransport({ baseUrl: baseUrl(), httpVersion: "2" }),
  "gRPC-Web over h2c": () => createGrpcWebTransport({ baseUrl: baseUrl(), httpVersion: "2" }),
  "gRPC over h2c": () => createGrpcTransport({ baseUrl: baseUrl() }),
};

describe("a cancelled Watch on the web port", () => {
  it.each(Object.entries(transports))("releases its watcher: %s", async (_name, transport) => {
    const balancer = createClient(BalancerService, transport());
    const before = app.watchHub.watcherCount;
    const abort = new AbortController();
    const streams = Array.from({ length: WATCHES }, () =>
      balancer.watch({ services: [SERVICE] }, { signal: abort.signal })[Symbol.asyncIterator](),
    );
    for (const stream of streams) expect((await stream.next()).value?.event.case).toBe("snapshot");
    expect(app.watchHub.watcherCount).toBe(before + WATCHES);
    abort.abort();
    await Promise.all(streams.map((stream) => stream.next().catch(() => undefined)));
    await until(() => app.watchHub.watcherCount === before);
  });

  it("releases its watcher: HTTP/2 stream closed with NO_ERROR", async () => {
    const session = http2.connect(baseUrl());
    session.on("error", () => {});
    try {
      const before = app.watchHub.watcherCount;
      const request = toBinary(WatchRequestSchema, create(WatchRequestSchema, { services: [SERVICE] }));
      const streams = Array.from({ length: WATCHES }, () => {
        const stream = session.request(grpcHeaders("/fulcrum.v1.BalancerService/Watch"));
        stream.on("error", () => {});
        stream.end(grpcFrame(request));
        return stream;
      });
      await Promise.all(streams.map((stream) => new Promise((resolve) => stream.once("data", resolve))));
      expect(app.watchHub.watcherCount).toBe(before + WATCHES);
      for (const stream of streams) stream.close(http2.constants.NGHTTP2_NO_ERROR);
      await until(() => app.watchHub.watcherCount === before);
    } finally {
      session.destroy();
    }
  });
});
