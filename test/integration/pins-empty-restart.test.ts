/**
 * Session pins survive a redis-server killed and restarted empty (behaviour.md P4): three
 * in-process replicas on one real redis-server, 60 sessions pinned round robin across them
 * (so each replica holds only its own 20 pins in L1). After the empty restart the replicas
 * put their pins back (compare-and-set: a pin already there wins) and every replica, with or
 * without the pin in its L1, answers every session with the backend it had before.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallResult, RoutingMode } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

const SERVICE = "pins-restart";
const SESSIONS = 60;

const backends = Array.from({ length: 6 }, (_, i) => ({ id: `b${i}`, address: `10.6.0.${i + 1}:119` }));

describe("session pins across an empty Redis restart", () => {
  let redis: RedisProcess;
  const replicas: App[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    // One at a time, with a lenient command timeout: the test machine may be busy.
    for (let i = 0; i < 3; i++)
      replicas.push(await startFulcrum({ redis: { url: redis.url, commandTimeoutMs: 5_000 } }));
  });
  afterAll(async () => {
    await Promise.all(replicas.map((app) => app.close()));
    await redis?.stop();
  });

  it("P4 every acknowledged pin is identical on every replica after redis-server restarts empty", async () => {
    const clients = replicas.map((app) => grpcTransportClients(app.grpcPort));
    const [first] = clients;
    await first!.registry.register({
      service: SERVICE,
      config: { session: { routingMode: RoutingMode.HYBRID } },
      backends,
    });
    for (const c of clients) await eventually(() => c.registry.getService({ service: SERVICE }));
    const select = async (replica: number, sessionId: string, command: string) => {
      const picked = await clients[replica]!.balancer.select({ service: SERVICE, sessionId, command });
      await clients[replica]!.balancer.report({
        outcomes: [{ ticket: picked.ticket, result: CallResult.SUCCESS }],
      });
      return picked.backends[0]?.id;
    };
    const before = new Map<string, string | undefined>();
    for (let i = 0; i < SESSIONS; i++) before.set(`s-${i}`, await select(i % 3, `s-${i}`, "GROUP misc.test"));
    expect(new Set(before.values()).size).toBeGreaterThan(1);
    expect([...before.values()].every((id) => id?.startsWith("b"))).toBe(true);

    await redis.stop();
    await redis.start();
    const pinKeys = async () =>
      (await redis.cli("--scan", "--pattern", `fulcrum:{p:${SERVICE}}:s:*`)).split("\n").filter(Boolean);
    await eventually(async () => ((await pinKeys()).length === SESSIONS ? true : undefined), 15_000);

    for (let replica = 0; replica < 3; replica++) {
      const after = new Map<string, string | undefined>();
      for (const sessionId of before.keys())
        after.set(sessionId, await select(replica, sessionId, "ARTICLE 1"));
      expect(after).toEqual(before);
    }
  });
});
