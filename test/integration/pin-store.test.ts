/**
 * The PinStore contract against a real redis-server and a real three-master Redis Cluster
 * (C13), with several clients standing in for replicas (P4), short real TTLs for expiry
 * (P7), and the raw keys checked for what the layout promises: one slot per service, and
 * nothing left behind once pins end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pinKeys } from "../../src/store/redis/pin-keys.js";
import { connectRedis, type RedisClient, type RedisTarget } from "../../src/store/redis/redis-client.js";
import { RedisPinStore } from "../../src/store/redis/redis-pin-store.js";
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
} from "../support/redis.js";
import { describePinStoreContract } from "../unit/sessions/pin-store-contract.js";

const TTL_MS = 500;
const CLIENTS = 4;
const PREFIX = "pintest";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Several clients (replicas) on one target, opened once per file and shared by the tests. */
function replicasOn(target: () => RedisTarget) {
  const clients: RedisClient[] = [];
  return {
    async open() {
      for (let i = 0; i < CLIENTS; i++) clients.push(await connectRedis(target()));
    },
    async close() {
      await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
    },
    clients,
    stores: () => clients.map((client) => new RedisPinStore({ client, prefix: PREFIX })),
  };
}

describe("RedisPinStore on a single Redis", () => {
  let redis: RedisProcess;
  const replicas = replicasOn(() => ({ kind: "single", url: redis.url }));
  beforeAll(async () => {
    redis = await startRedis();
    await replicas.open();
  });
  afterAll(async () => {
    await replicas.close();
    await redis?.stop();
  });

  describePinStoreContract("Redis", () => ({ clients: replicas.stores(), advance: (ms) => sleep(ms) }), {
    ttlMs: TTL_MS,
  });

  it("P7 C13 ended pins leave no keys; expired pins leave none once counted", async () => {
    const [store] = replicas.stores();
    for (let i = 0; i < 20; i++) await store!.pin("tidy", `s${i}`, `b${i % 3}`, TTL_MS, 100);
    for (let i = 0; i < 10; i++) await store!.end("tidy", `s${i}`);
    await sleep(TTL_MS * 1.5);
    expect(await store!.countByBackend("tidy")).toEqual(new Map());
    const left = (await redis.cli("--scan", "--pattern", `${PREFIX}:{p:tidy}:*`)).trim();
    expect(left).toBe("");
  });

  it("P7 the pin key carries the idle TTL as a Redis expiry", async () => {
    const [store] = replicas.stores();
    await store!.pin("ttl", "s1", "b1", 60_000, 10);
    const key = pinKeys(PREFIX, "ttl").session("s1");
    const pttl = Number((await redis.cli("pttl", key)).trim());
    expect(pttl).toBeGreaterThan(59_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
  });
});

describe("RedisPinStore on a three-master Redis Cluster", () => {
  let cluster: RedisClusterProcess;
  const replicas = replicasOn(() => ({ kind: "cluster", nodes: cluster.nodes }));
  beforeAll(async () => {
    cluster = await startRedisCluster();
    await replicas.open();
  }, 60_000);
  afterAll(async () => {
    await replicas.close();
    await cluster?.stop();
  });

  describePinStoreContract(
    "Redis Cluster",
    () => ({ clients: replicas.stores(), advance: (ms) => sleep(ms) }),
    { ttlMs: TTL_MS },
  );

  it("C13 every key of one service's pins hashes to one slot, and services spread over the masters", async () => {
    const client = replicas.clients[0]! as unknown as {
      cluster(sub: "KEYSLOT", key: string): Promise<number>;
    };
    const keys = pinKeys(PREFIX, "news");
    const slots = await Promise.all(
      [keys.session("s1"), keys.session("{odd}"), keys.backend("b1"), keys.index].map((k) =>
        client.cluster("KEYSLOT", k),
      ),
    );
    expect(new Set(slots).size).toBe(1);
    const spread = new Set<number>();
    for (let i = 0; i < 30; i++)
      spread.add(await client.cluster("KEYSLOT", pinKeys(PREFIX, `svc${i}`).index));
    expect(spread.size).toBeGreaterThan(1);
  });

  it("P4 P6 pins of many services across the masters, from every client", async () => {
    const stores = replicas.stores();
    const services = Array.from({ length: 12 }, (_, i) => `spread-${i}`);
    await Promise.all(services.flatMap((svc) => stores.map((s, c) => s.pin(svc, `c${c}`, "b1", 60_000, 2))));
    for (const svc of services) {
      expect(await stores[1]!.countByBackend(svc)).toEqual(new Map([["b1", 2]]));
    }
  });
});
