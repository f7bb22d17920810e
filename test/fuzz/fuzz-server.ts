/**
 * The real server a fuzz file runs against: started before its tests with `target` and
 * fuzz.control registered (one backend "a" each), closed after them.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { App } from "../../src/app/create-app.js";
import type { FulcrumConfigInput } from "../../src/config/schema.js";
import { grpcClients, unary } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

/** The running server and grpc-js clients on its gRPC port, set once the file's tests start. */
export interface FuzzServer {
  app: App;
  clients: ReturnType<typeof grpcClients>;
}

export function fuzzServer(limits: FulcrumConfigInput["limits"], target: string): FuzzServer {
  const server = {} as FuzzServer;
  beforeAll(async () => {
    server.app = await startFulcrum({ limits });
    server.clients = grpcClients(server.app.grpcPort);
    for (const service of [target, "fuzz.control"])
      await unary(server.clients.registry, "Register", {
        service,
        backends: [{ id: "a", address: "10.0.0.1:80" }],
      });
  });
  afterAll(async () => {
    server.clients?.close();
    await server.app?.close();
  });
  return server;
}

/** After a fuzz run: Select on fuzz.control still answers its one backend. */
export async function expectSelectStillAnswers(server: FuzzServer): Promise<void> {
  const after = await unary<{ backends: Array<{ id: string }> }>(server.clients.balancer, "Select", {
    service: "fuzz.control",
  });
  expect(after.backends.map((b) => b.id)).toEqual(["a"]);
}
