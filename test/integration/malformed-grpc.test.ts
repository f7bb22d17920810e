/**
 * Raw malformed gRPC over node:http2 against both ports: the server answers each request with
 * a precise status and keeps serving. A crash of the in-process server fails this file as an
 * unhandled error, and the follow-up call through a real grpc-js client proves the port lives.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcClients, unary } from "../support/grpc-client.js";
import { grpcFrame, grpcHeaders, rawGrpc } from "../support/raw-grpc.js";
import { startFulcrum } from "../support/server.js";

const SELECT = "/fulcrum.v1.BalancerService/Select";
const GRPC = { INVALID_ARGUMENT: 3, INTERNAL: 13, UNKNOWN: 2 };

let app: App;
let clients: ReturnType<typeof grpcClients>;
beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcClients(app.grpcPort);
  await unary(clients.registry, "Register", {
    service: "raw.test",
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

async function selectStillAnswers() {
  const answer = await unary<{ backends: Array<{ id: string }> }>(clients.balancer, "Select", {
    service: "raw.test",
  });
  expect(answer.backends.map((b) => b.id)).toEqual(["a"]);
}

describe("malformed gRPC frames", () => {
  for (const encoding of ["gzip", "deflate"]) {
    it(`a compressed-flag frame whose body is not ${encoding} gets a status and the gRPC port lives`, async () => {
      // 01 00 00 00 02 0a 00: compressed flag, length 2, two bytes that are not a valid stream.
      const body = grpcFrame(Uint8Array.of(0x0a, 0x00), 1);
      for (const port of [app.grpcPort, app.webPort]) {
        const answer = await rawGrpc(port, grpcHeaders(SELECT, { "grpc-encoding": encoding }), body);
        expect(answer.timedOut).toBe(false);
        expect(answer.grpcStatus).toBeDefined();
        expect(answer.grpcStatus).not.toBe(0);
      }
      await selectStillAnswers();
    });
  }
});
