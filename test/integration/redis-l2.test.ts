/**
 * RedisL2Store and RedisBus against real redis-server processes: the L2 contract suite
 * (test/unit/cache/l2-contract.ts) on a single Redis and on a 3-master Redis Cluster (C10,
 * C13), the stored layout, the error kinds, and a two-replica tiered cache over the cluster.
 */
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { L2Record } from "../../src/cache/ports.js";
import { createTieredCache } from "../../src/cache/tiered-cache.js";
import { RedisBus } from "../../src/store/redis/redis-bus.js";
import { connectRedis, type RedisClient } from "../../src/store/redis/redis-client.js";
import { redisErrorKind } from "../../src/store/redis/redis-errors.js";
import { cacheKey, cacheTag, RedisL2Store } from "../../src/store/redis/redis-l2-store.js";
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
} from "../support/redis.js";
import { describeL2Contract } from "../unit/cache/l2-contract.js";

const CLIENT_OPTIONS = { commandTimeoutMs: 500, reconnectStepMs: 50, maxReconnectDelayMs: 200 };
const CONTRACT_TTL_MS = 400;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(20);
  }
}

/** Contract harness over `client`, with a fresh key prefix per test; plants go through `raw`. */
function contractFactory(client: () => RedisClient, raw: () => Redis | Cluster) {
  let run = 0;
  return () => {
    const keyPrefix = `l2c${run++}:`;
    const store = new RedisL2Store({ client: client(), keyPrefix });
    return {
      store,
      now: () => Date.now(),
      advance: (ms: number) => sleep(ms),
      plantMisfiled: async (storedUnder: string, record: L2Record) => {
        await raw().set(keyPrefix + storedUnder, JSON.stringify(record));
      },
      plantGarbage: async (key: string) => {
        await raw().set(keyPrefix + key, "not a record");
      },
    };
  };
}

describe("RedisL2Store on a single Redis", () => {
  let redis: RedisProcess;
  let client: RedisClient;
  let raw: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    client = await connectRedis({ kind: "single", url: redis.url }, CLIENT_OPTIONS);
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    client?.disconnect();
    raw?.disconnect();
    await redis?.stop();
  });

  describeL2Contract(
    "RedisL2Store (single Redis)",
    contractFactory(
      () => client,
      () => raw,
    ),
    { ttlMs: CONTRACT_TTL_MS, keyPrefix: "contract" },
  );

  it("C10: stores a JSON envelope naming the full key, with PX from expiresAt and none for 0", async () => {
    const store = new RedisL2Store({ client, keyPrefix: "fulcrum:cache:" });
    await store.set({ key: "health:k", value: '{"s":1}', expiresAt: Date.now() + 60_000 });
    await store.set({ key: "health:forever", value: "1", expiresAt: 0 });
    expect(JSON.parse((await raw.get("fulcrum:cache:health:k"))!)).toMatchObject({
      key: "health:k",
      value: '{"s":1}',
    });
    const pttl = await raw.pttl("fulcrum:cache:health:k");
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);
    expect(await raw.pttl("fulcrum:cache:health:forever")).toBe(-1);
  });

  it("a record already expired is not written, and deletes what was there", async () => {
    const store = new RedisL2Store({ client });
    await store.set({ key: "old", value: "1", expiresAt: 0 });
    await store.set({ key: "old", value: "2", expiresAt: Date.now() - 1 });
    expect(await raw.exists("old")).toBe(0);
  });

  it("error kinds: a wrong-typed key is `command`, a paused server `timeout`, a closed client `connection`", async () => {
    const store = new RedisL2Store({ client });
    await raw.rpush("a-list", "x");
    await expect(store.get("a-list")).rejects.toMatchObject({ name: "L2Error", kind: "command" });
    await expect(store.get("a-list")).rejects.toThrow(/GET a-list failed \(command\): WRONGTYPE/);

    await redis.cli("CLIENT", "PAUSE", "1500", "ALL");
    await expect(store.get("paused")).rejects.toMatchObject({ kind: "timeout" });
    await eventually(
      async () =>
        (await store.get("paused").then(
          () => true,
          () => false,
        )) === true,
    );

    const closed = await connectRedis({ kind: "single", url: redis.url }, CLIENT_OPTIONS);
    closed.disconnect();
    const error = await new RedisL2Store({ client: closed }).set({ key: "x", value: "1", expiresAt: 0 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ name: "L2Error", kind: "connection" });
    expect(redisErrorKind(new Error("something else"))).toBe("unknown");
  });

  it("keyPrefix with braces is rejected; cacheKey/cacheTag put the tag first", () => {
    expect(() => new RedisL2Store({ client, keyPrefix: "{x}" })).toThrow(/keyPrefix/);
    expect(cacheTag("b:10.0.0.1:80", "health")).toBe("{b:10.0.0.1:80}:health");
    expect(cacheKey("health", "b:10.0.0.1:80", "state")).toBe("health:{b:10.0.0.1:80}:state");
    expect(() => cacheKey("", "t", "r")).toThrow(/namespace/);
    expect(() => cacheKey("a{b", "t", "r")).toThrow(/namespace/);
    expect(() => cacheTag("", "r")).toThrow(/tag/);
    expect(() => cacheTag("a}b", "r")).toThrow(/tag/);
  });

  it("C9: the bus delivers to other buses, not back to its sender, and drops malformed messages", async () => {
    const a = new RedisBus({ client, prefix: "l2test" });
    const b = new RedisBus({ client, prefix: "l2test" });
    const atA: unknown[] = [];
    const atB: unknown[] = [];
    a.subscribe((m) => atA.push(m));
    b.subscribe((m) => atB.push(m));
    await Promise.all([a.ready(), b.ready()]);
    await raw.publish("l2test:invalidate", "{not json");
    await a.publish({ namespace: "n", key: "k", reason: "set", origin: "replica-a" });
    await a.publish({ namespace: "n", key: undefined, reason: "invalidate_all", origin: "replica-a" });
    await eventually(() => atB.length === 2);
    expect(atB).toEqual([
      { namespace: "n", key: "k", reason: "set", origin: "replica-a" },
      { namespace: "n", key: undefined, reason: "invalidate_all", origin: "replica-a" },
    ]);
    expect(atA).toEqual([]);
    expect(b.malformed).toBe(1);
    a.close();
    b.close();
  });
});

describe("RedisL2Store on a 3-master Redis Cluster (C13)", () => {
  let cluster: RedisClusterProcess;
  let client: RedisClient;
  let raw: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = await connectRedis({ kind: "cluster", nodes: cluster.nodes }, CLIENT_OPTIONS);
    raw = new Cluster([...cluster.nodes]);
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    raw?.disconnect();
    await cluster?.stop();
  });

  describeL2Contract(
    "RedisL2Store (Redis Cluster)",
    contractFactory(
      () => client,
      () => raw,
    ),
    { ttlMs: CONTRACT_TTL_MS, keyPrefix: "contract" },
  );

  it("C13: keys made with one tag share a slot; keys spread over the three masters work", async () => {
    const slot = (key: string) => raw.cluster("KEYSLOT", key) as Promise<number>;
    const keys = ["state", "quota", "pins", "ewma"].map((rest) => cacheKey("health", "b:10.0.0.1:80", rest));
    const slots = await Promise.all(keys.map(slot));
    expect(new Set(slots).size).toBe(1);
    const spread = await Promise.all(Array.from({ length: 30 }, (_, i) => slot(`health:k${i}`)));
    expect(new Set(spread.map((s) => Math.floor(s / 5462))).size).toBe(3);
  });

  it("C9 C13: two replicas' tiered caches over the cluster: L2 shared, invalidations cross", async () => {
    const busA = new RedisBus({ client, prefix: "c13" });
    const busB = new RedisBus({ client, prefix: "c13" });
    const store = new RedisL2Store({ client, keyPrefix: "c13:" });
    const caches: { close(): void }[] = [];
    try {
      const a = createTieredCache<string>({ namespace: "sessions", l2: store, bus: busA, replicaId: "a" });
      const b = createTieredCache<string>({
        namespace: "sessions",
        l2: store,
        bus: busB,
        replicaId: "b",
        refill: "always",
      });
      caches.push(a, b);
      await Promise.all([busA.ready(), busB.ready()]);
      const keys = Array.from({ length: 20 }, (_, i) => cacheTag(`s:${i}`, "pin"));
      await Promise.all(keys.map((k, i) => a.set(k, `backend-${i}`)));
      // B hears of every write; a read racing one of those invalidations would not be refilled.
      await eventually(() => b.stats().remoteInvalidations === 20);
      expect(await Promise.all(keys.map((k) => b.get(k)))).toEqual(keys.map((_, i) => `backend-${i}`));
      expect(b.stats().l1Size).toBe(20);
      await a.set(keys[3]!, "moved");
      await eventually(() => b.stats().remoteInvalidations === 21);
      expect(await b.get(keys[3]!)).toBe("moved");
      expect(JSON.parse((await raw.get(`c13:sessions:${keys[3]}`))!).value).toBe('"moved"');
    } finally {
      for (const c of caches) c.close();
      busA.close();
      busB.close();
    }
  });
});
