/**
 * After a Redis that restarted empty, a replica started afterwards must share
 * the running replicas' ticket secret, so a ticket issued on an old replica is accepted on the
 * new one and the reverse. Three real replicas on one real redis-server, killed and restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { connectRedis } from "../../src/store/redis/redis-client.js";
import { RedisTicketSecrets } from "../../src/store/redis/redis-ticket-secrets.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

const backends = [
  { id: "b0", address: "10.9.0.1:80" },
  { id: "b1", address: "10.9.0.2:80" },
];

describe("ticket secrets across an empty Redis restart", () => {
  let redis: RedisProcess;
  const apps: App[] = [];
  const start = async () => {
    const app = await startFulcrum({ redis: { url: redis.url } });
    apps.push(app);
    return app;
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await redis?.stop();
  });

  it("a ticket from an old replica is accepted by one started after an empty Redis restart, and the reverse", async () => {
    const [a, b, c] = [await start(), await start(), await start()];
    const onA = grpcTransportClients(a!.grpcPort);
    await onA.registry.register({ service: "tickets", backends });
    for (const app of [b, c]) {
      await eventually(() => grpcTransportClients(app!.grpcPort).registry.getService({ service: "tickets" }));
    }

    await redis.stop();
    await redis.start();
    // The running replicas re-seed the empty Redis (the registry is put back when they reconnect).
    await eventually(
      async () => ((await redis.cli("exists", "fulcrum:{s:tickets}:def")).includes("1") ? true : undefined),
      15_000,
    );
    await c!.close();
    const d = await start();
    const onD = grpcTransportClients(d.grpcPort);
    await eventually(() => onD.registry.getService({ service: "tickets" }));

    const onB = grpcTransportClients(b!.grpcPort);
    for (const [issuer, reporter] of [
      [onA, onD],
      [onD, onA],
      [onB, onD],
      [onD, onB],
    ] as const) {
      const picked = await issuer.balancer.select({ service: "tickets" });
      const reported = await reporter.balancer.report({ outcomes: [{ ticket: picked.ticket, result: 1 }] });
      expect(reported.applied).toBe(1);
    }
  });

  it("a secret minted on an empty Redis and the running replicas' secret end up accepted by both, one signing secret", async () => {
    const client = await connectRedis({ kind: "single", url: redis.url });
    try {
      const old = new RedisTicketSecrets({
        client,
        prefix: "secrets-test",
        candidate: "old-secret-0123456789",
      });
      await old.sync();
      await client.del("secrets-test:ticket-secret", "secrets-test:ticket-secrets");
      const minted = new RedisTicketSecrets({
        client,
        prefix: "secrets-test",
        candidate: "new-secret-0123456789",
      });
      await minted.sync();
      expect(minted.current().signing).toBe("new-secret-0123456789");
      await old.sync();
      await minted.sync();
      for (const replica of [old, minted]) {
        expect(replica.current().signing).toBe("new-secret-0123456789");
        expect([...replica.current().accepted].sort()).toEqual([
          "new-secret-0123456789",
          "old-secret-0123456789",
        ]);
      }
    } finally {
      client.disconnect();
    }
  });
});
