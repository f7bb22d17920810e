/**
 * The Redis QuotaLimiter against real redis-server processes: the contract suite on a single
 * Redis and on a 3-master Redis Cluster (C13), the Lua twin against the TypeScript math
 * (random sequences, compared with the memory limiter), and global accuracy across replicas
 * (Q6: several independent clients hammering one small limit).
 */
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quotaKeys } from "../../src/store/redis/quota-keys.js";
import { connectRedis, type RedisClient } from "../../src/store/redis/redis-client.js";
import { RedisQuotaLimiter } from "../../src/store/redis/redis-quota-limiter.js";
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
} from "../support/redis.js";
import { describeQuotaLimiterContract } from "../unit/quota/quota-limiter-contract.js";
import { hammerOneLimit } from "./quota-hammer.js";
import { expectSameAsMemory, expectSameAsMemoryBatched } from "./quota-lua-twin.js";

async function storedKeys(client: RedisClient, prefix: string) {
  const nodes = "nodes" in client ? client.nodes("master") : [client];
  let count = 0;
  let withoutExpiry = 0;
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, keys] = await node.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      cursor = next;
      for (const key of keys) {
        count++;
        if ((await node.pttl(key)) < 0) withoutExpiry++;
      }
    } while (cursor !== "0");
  }
  return { count, withoutExpiry };
}

describe("RedisQuotaLimiter on a single Redis", () => {
  let redis: RedisProcess;
  let client: RedisClient;
  let run = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = await connectRedis({ kind: "single", url: redis.url });
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  describeQuotaLimiterContract("RedisQuotaLimiter (single)", () => {
    const prefix = `contract${++run}`;
    return { limiter: new RedisQuotaLimiter({ client, prefix }), stored: () => storedKeys(client, prefix) };
  });

  it("Q1 Q2 Q3 Q4 Q7 Q10: the Lua does the same math as the TypeScript (random sequences vs memory)", async () => {
    await expectSameAsMemory(new RedisQuotaLimiter({ client, prefix: `twin${++run}` }), 150);
  });

  it("Q1 Q2 Q3 Q4 Q7 Q10: operations sent together in one batched script call decide as if sent alone", async () => {
    await expectSameAsMemoryBatched(new RedisQuotaLimiter({ client, prefix: `batch${++run}` }), 40);
  });

  it("Q6: independent clients hammering one small limit never admit more than the limit", async () => {
    const clients = await Promise.all(
      Array.from({ length: 4 }, () => connectRedis({ kind: "single", url: redis.url })),
    );
    try {
      const result = await hammerOneLimit(
        clients.map((c) => new RedisQuotaLimiter({ client: c, prefix: "q6" })),
      );
      for (const line of result.lines) console.log(line);
      expect(result.admitted).toBeGreaterThan(0);
      expect(result.worstOverAdmission).toBeLessThanOrEqual(0.01);
    } finally {
      for (const c of clients) c.disconnect();
    }
  }, 60_000);
});

describe("RedisQuotaLimiter on a 3-master Redis Cluster", () => {
  let cluster: RedisClusterProcess;
  let client: RedisClient;
  let run = 0;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = await connectRedis({ kind: "cluster", nodes: cluster.nodes });
  }, 60_000);
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  describeQuotaLimiterContract("RedisQuotaLimiter (cluster)", () => {
    const prefix = `contract${++run}`;
    return { limiter: new RedisQuotaLimiter({ client, prefix }), stored: () => storedKeys(client, prefix) };
  });

  it("C13: the keys of one backend share a slot; backends spread over the masters", async () => {
    const cluster = client as Cluster;
    const limiter = new RedisQuotaLimiter({ client, prefix: "spread" });
    const tokens = {
      dimension: "tokens",
      limit: 10,
      windowMs: 60_000,
      algorithm: "token_bucket" as const,
      buckets: 6,
    };
    const rpm = { ...tokens, dimension: "requests", algorithm: "sliding_window" as const };
    const masters = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const key = { service: "svc", backendId: `b${i}` };
      await limiter.reserve(key, [rpm, tokens], { tokens: 1 }, Date.now());
      await limiter.markExhausted(key, Date.now() + 60_000, Date.now());
      const names = quotaKeys("spread", key, [rpm, tokens]);
      const slots = await Promise.all(
        [names.mark, ...names.dimensions].map((name) => cluster.cluster("KEYSLOT", name) as Promise<number>),
      );
      expect(new Set(slots).size).toBe(1);
      const owner = cluster.slots[slots[0]!]?.[0];
      if (owner) masters.add(owner);
    }
    expect(masters.size).toBe(3);
    const stored = await storedKeys(client, "spread");
    expect(stored).toEqual({ count: 90, withoutExpiry: 0 });
  });

  it("Q1 Q2 Q3: the Lua twin holds on the Cluster too", async () => {
    await expectSameAsMemory(new RedisQuotaLimiter({ client, prefix: `twin${++run}` }), 30);
  });

  it("Q1 Q2 Q3 C13: batched script calls hold on the Cluster too (one backend's keys per call)", async () => {
    await expectSameAsMemoryBatched(new RedisQuotaLimiter({ client, prefix: `batch${++run}` }), 15);
  });

  it("Q6 C13: independent cluster clients never admit more than the limit", async () => {
    const clients = await Promise.all(
      Array.from({ length: 3 }, () => connectRedis({ kind: "cluster", nodes: cluster.nodes })),
    );
    try {
      const result = await hammerOneLimit(
        clients.map((c) => new RedisQuotaLimiter({ client: c, prefix: "q6c" })),
        { algorithms: ["sliding_window"] },
      );
      for (const line of result.lines) console.log(line);
      expect(result.worstOverAdmission).toBeLessThanOrEqual(0.01);
    } finally {
      for (const c of clients) c.disconnect();
    }
  }, 60_000);
});
