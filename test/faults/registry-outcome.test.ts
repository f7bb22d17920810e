/**
 * A Register that fails because Redis does not answer says only what is true,
 * and a write the client gave up on never lands later. Real replicas on one real
 * redis-server, paused with SIGSTOP and resumed with SIGCONT.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a registry write while Redis is paused", () => {
  let redis: RedisProcess;
  const apps: App[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i++) apps.push(await startFulcrum({ redis: { url: redis.url } }));
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await redis?.stop();
  });

  it("E1 UNAVAILABLE says the outcome is unknown, and the write it gave up on never appears on any replica", async () => {
    const clients = apps.map((app) => grpcTransportClients(app.grpcPort));
    const [onA] = clients;
    const registered = await onA!.registry.register({
      service: "paused",
      backends: [{ id: "b0", address: "10.8.0.1:80" }],
    });
    for (const client of clients) await eventually(() => client.registry.getService({ service: "paused" }));

    redis.signal("SIGSTOP");
    let failure: unknown;
    try {
      failure = await onA!.registry
        .register({ service: "paused", mode: 2, backends: [{ id: "late", address: "10.8.0.2:80" }] })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
    } finally {
      // Paused past the client's timeout, as in the 5 s pause (shortened).
      await sleep(1_500);
      redis.signal("SIGCONT");
    }
    expect(failure).toBeInstanceOf(ConnectError);
    const error = failure as ConnectError;
    expect(error.code).toBe(Code.Unavailable);
    expect(error.rawMessage).toContain("may or may not have been applied");
    expect(error.rawMessage).not.toContain("nothing changed");
    expect(error.findDetails(ErrorInfoSchema).map((info) => info.reason)).toEqual([
      "REGISTRY_OUTCOME_UNKNOWN",
    ]);

    // Redis answers again: a later write goes through on the version the failed one did not take.
    const after = await eventually(
      () =>
        onA!.registry.register({
          service: "paused",
          mode: 2,
          backends: [{ id: "after", address: "10.8.0.3:80" }],
        }),
      10_000,
    );
    expect(after.version).toBe(registered.version + 1n);
    for (const client of clients) {
      const seen = await eventually(async () => {
        const status = await client.registry.getService({ service: "paused" });
        return status.service?.version === after.version ? status : undefined;
      });
      expect(seen.service?.backends.map((b) => b.backend?.id)).toEqual(["b0", "after"]);
    }
  });
});
