/**
 * A health-check interval of 30 days (past the 24.8 days a Node
 * timer honours, which Node would run after 1 ms: a probe storm) is refused at Register with
 * INVALID_ARGUMENT naming the field, over both ports, and nothing is registered.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { connectClients, grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

const month = { seconds: BigInt(30 * 86_400), nanos: 0 };

describe("durations a timer cannot honour", () => {
  let app: App;
  beforeAll(async () => {
    app = await startFulcrum();
  });
  afterAll(async () => {
    await app?.close();
  });

  for (const [transport, clients] of [
    ["gRPC port", () => grpcTransportClients(app.grpcPort)],
    ["web port", () => connectClients(app.webPort)],
  ] as const) {
    it(`H5 R5 a 30-day check interval and lease are INVALID_ARGUMENT naming each field (${transport})`, async () => {
      const { registry } = clients();
      const error = await registry
        .register({
          service: "monthly",
          backends: [
            {
              id: "b0",
              address: "127.0.0.1:9",
              leaseTtl: month,
              healthCheck: { probe: { case: "tcp", value: {} }, interval: month },
            },
          ],
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.InvalidArgument);
      expect((error as ConnectError).rawMessage).toMatch(
        /backends\[0\]\.(health_check\.interval|lease_ttl): .*2147483647 ms/,
      );
      const listed = await registry.listServices({});
      expect(listed.services.map((s) => s.name)).not.toContain("monthly");
    });
  }
});
