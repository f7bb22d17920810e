/**
 * The tiered cache on a real redis-server with two "replicas" (two caches, each with its own
 * Redis client, RedisL2Store and RedisBus), while Redis is really killed (SIGKILL) and
 * restarted empty on the same port: C5 failure modes, C2/C3 policies, C9 cross-replica
 * invalidation, C11 deletes. Loops are bounded; nothing asserts how fast anything is.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CacheEvent, L2ErrorEvent } from "../../src/cache/cache-events.js";
import type { TieredCacheOptions } from "../../src/cache/cache-options.js";
import { retryDelayMs } from "../../src/cache/failure-mode.js";
import { L2Error } from "../../src/cache/ports.js";
import type { ReadPolicy } from "../../src/cache/read-policy.js";
import { createTieredCache, type TieredCache } from "../../src/cache/tiered-cache.js";
import type { WritePolicy } from "../../src/cache/write-policy.js";
import { type Clock, systemClock } from "../../src/shared/clock.js";
import { createSeededRandom } from "../../src/shared/random.js";
import { RedisBus } from "../../src/store/redis/redis-bus.js";
import { connectRedis, type RedisClient } from "../../src/store/redis/redis-client.js";
import { RedisL2Store } from "../../src/store/redis/redis-l2-store.js";
import { type RedisProcess, startRedis } from "../support/redis.js";

const CLIENT_OPTIONS = { commandTimeoutMs: 200, reconnectStepMs: 50, maxReconnectDelayMs: 200 };
const READ_POLICIES: readonly ReadPolicy[] = ["sequential", "race", "parallel"];
const WRITE_POLICIES: readonly WritePolicy[] = ["sequential", "optimisticParallel", "race"];
const COMBOS = READ_POLICIES.flatMap((readPolicy) =>
  WRITE_POLICIES.map((writePolicy) => ({ readPolicy, writePolicy })),
);
/** Iterations of each bounded loop while Redis is down. */
const DOWN_LOOP = 30;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not met in ${ms} ms: ${what}`);
    await sleep(10);
  }
}

/** One replica's Redis side: its own client, L2 store and bus. */
interface Replica {
  readonly name: string;
  readonly client: RedisClient;
  readonly store: RedisL2Store;
  readonly bus: RedisBus;
}

/** A cache on a replica, with every event it emits. */
interface Observed<V> {
  readonly cache: TieredCache<V>;
  readonly events: CacheEvent[];
}

async function replica(name: string, url: string): Promise<Replica> {
  const client = await connectRedis({ kind: "single", url }, CLIENT_OPTIONS);
  client.on("error", () => {
    // Expected while Redis is stopped; the cache reports through its events.
  });
  return {
    name,
    client,
    store: new RedisL2Store({ client, keyPrefix: "faults:" }),
    bus: new RedisBus({ client, prefix: "faults" }),
  };
}

const l2Errors = (events: readonly CacheEvent[], key?: string) =>
  events.filter((e): e is L2ErrorEvent => e.type === "l2_error" && (key === undefined || e.key === key));

describe("tiered cache on a real Redis: two replicas, Redis stopped and restarted", () => {
  let redis: RedisProcess;
  let raw: Redis;
  let a: Replica;
  let b: Replica;
  const opened: TieredCache<unknown>[] = [];

  function cache<V>(on: Replica, options: Partial<TieredCacheOptions<V>>): Observed<V> {
    const created = createTieredCache<V>({
      l2: on.store,
      bus: on.bus,
      replicaId: on.name,
      random: createSeededRandom(1),
      ...options,
    });
    opened.push(created as TieredCache<unknown>);
    const events: CacheEvent[] = [];
    created.subscribe(
      (e) => {
        events.push(e);
      },
      { queueSize: 100_000 },
    );
    return { cache: created, events };
  }

  async function stopRedis(): Promise<void> {
    await redis.stop();
    await eventually(
      () => a.client.status !== "ready" && b.client.status !== "ready",
      "clients see the stop",
    );
  }

  async function startRedisAgain(): Promise<void> {
    await redis.start();
    await eventually(() => a.client.status === "ready" && b.client.status === "ready", "clients reconnect");
    await Promise.all([a.bus.ready(), b.bus.ready()]);
  }

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    raw.on("error", () => {
      // The checking client reconnects on its own after a restart.
    });
    a = await replica("a", redis.url);
    b = await replica("b", redis.url);
  });

  afterAll(async () => {
    for (const c of opened) c.close();
    for (const r of [a, b]) {
      r?.bus.close();
      r?.client.disconnect();
    }
    raw?.disconnect();
    await redis?.stop();
  });

  it("C9: a set, invalidate, delete and invalidateAll on A drop B's L1 copy, with the reason recorded", async () => {
    const onA = cache<number>(a, { namespace: "c9" });
    const onB = cache<number>(b, { namespace: "c9", refill: "always" });
    await Promise.all([a.bus.ready(), b.bus.ready()]);
    const remoteOnB = () => onB.events.filter((e) => e.type === "invalidate" && e.reason === "remote");
    const heard = (n: number) =>
      eventually(() => onB.cache.stats().remoteInvalidations === n, `B heard ${n}`);

    await onA.cache.set("k", 1);
    await heard(1);
    expect(await onB.cache.get("k")).toBe(1);
    expect(onB.cache.stats()).toMatchObject({ l2Hits: 1, refills: 1, l1Size: 1 });

    await onA.cache.set("k", 2);
    await heard(2);
    expect(await onB.cache.get("k")).toBe(2);
    await onA.cache.invalidate("k");
    await heard(3);
    expect(await onB.cache.get("k")).toBe(2); // invalidate drops L1 only; L2 keeps it
    await onA.cache.delete("k");
    await heard(4);
    expect(await onB.cache.get("k")).toBeUndefined();
    await onB.cache.set("x", 7);
    await onA.cache.invalidateAll();
    await heard(5);
    expect(onB.cache.stats().l1Size).toBe(0);
    // The first set found no L1 copy on B to drop, so four of the five messages made an event.
    await eventually(() => remoteOnB().length === 4, "B's events delivered");
    expect(remoteOnB().map((e) => e.type === "invalidate" && [e.key, e.remoteReason])).toEqual([
      ["k", "set"],
      ["k", "invalidate"],
      ["k", "delete"],
      [undefined, "invalidate_all"],
    ]);
    // A hears nothing of its own messages; B's own write reached A as a remote "set".
    expect(onA.cache.stats().remoteInvalidations).toBe(1);
  });

  it("C5 L1Only, every read x write policy: Redis down means zero failed calls; after the return writes reach L2 and the other replica reads them", async () => {
    const pairs = COMBOS.map((policies) => {
      const namespace = `l1only-${policies.readPolicy}-${policies.writePolicy}`;
      return {
        namespace,
        onA: cache<number | string>(a, { namespace, ...policies }),
        onB: cache<number | string>(b, { namespace, ...policies }),
      };
    });
    await Promise.all([a.bus.ready(), b.bus.ready()]);
    for (const { onA, onB } of pairs) {
      await onA.cache.set("before", "v0");
      await onA.cache.settled();
      expect(await onB.cache.get("before")).toBe("v0"); // an L2 hit on B
      await onB.cache.set("shared", "b-before");
      await onB.cache.settled();
    }

    await stopRedis();
    let calls = 0;
    let failed = 0;
    let wrong = 0;
    const check = async (call: () => Promise<unknown>, expected: unknown) => {
      calls++;
      try {
        if ((await call()) !== expected) wrong++;
      } catch {
        failed++;
      }
    };
    for (const { onA, onB } of pairs) {
      for (let i = 0; i < DOWN_LOOP; i++) {
        await check(() => onA.cache.set(`down-${i}`, i), undefined);
        await check(() => onA.cache.get(`down-${i}`), i);
        await check(() => onA.cache.getOrLoad(`load-${i}`, async () => `loaded-${i}`), `loaded-${i}`);
        await check(() => onA.cache.get(`load-${i}`), `loaded-${i}`);
      }
      await check(() => onA.cache.get("before"), "v0"); // A's L1 copy
      await check(() => onB.cache.get("before"), undefined); // B never held it in L1: a miss
      await check(() => onB.cache.get("shared"), "b-before");
      await check(() => onA.cache.set("shared", "a-during"), undefined);
      await check(() => onA.cache.delete("down-0"), true); // C11: L1 took it, L2 failed
      await onA.cache.settled();
    }
    expect({ calls, failed, wrong }).toEqual({
      calls: pairs.length * (DOWN_LOOP * 4 + 5),
      failed: 0,
      wrong: 0,
    });
    for (const { onA } of pairs) {
      expect(onA.cache.stats().l2Errors).toBeGreaterThan(0);
      expect(new Set(l2Errors(onA.events).map((e) => e.kind))).toEqual(new Set(["connection"]));
    }

    await startRedisAgain();
    for (const { namespace, onA, onB } of pairs) {
      const heard = onB.cache.stats().remoteInvalidations;
      await onA.cache.set("shared", "a-after");
      await onA.cache.settled();
      await eventually(() => onB.cache.stats().remoteInvalidations > heard, `${namespace}: B heard A`);
      expect(await onB.cache.get("shared")).toBe("a-after"); // B's stale L1 copy is gone
      for (let i = 0; i < 10; i++) await onA.cache.set(`after-${i}`, i);
      await onA.cache.settled();
      for (let i = 0; i < 10; i++) {
        expect(await onB.cache.get(`after-${i}`)).toBe(i);
        const stored = JSON.parse((await raw.get(`faults:${namespace}:after-${i}`))!);
        expect(stored).toMatchObject({ key: `${namespace}:after-${i}`, value: String(i) });
      }
    }
  });

  it("C5 Error, every read x write policy: with Redis down a write fails naming the Redis command and leaves L1 untouched; reads surface the failure; it recovers", async () => {
    const caches = COMBOS.map((policies) => ({
      ...policies,
      namespace: `error-${policies.readPolicy}-${policies.writePolicy}`,
      ...cache<string>(a, {
        namespace: `error-${policies.readPolicy}-${policies.writePolicy}`,
        failureMode: { kind: "error" },
        ...policies,
      }),
    }));
    for (const c of caches) await c.cache.set("k", "v1");

    await stopRedis();
    for (const c of caches) {
      const before = c.events.length;
      const error = await c.cache.set("k", "v2").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(L2Error);
      expect(error).toMatchObject({ kind: "connection" });
      expect((error as Error).message).toMatch(
        new RegExp(`^redis SET faults:${c.namespace}:k failed \\(connection\\): `),
      );
      await expect(c.cache.set("new", "n")).rejects.toThrow(/redis SET .*:new failed \(connection\)/);
      await c.cache.settled();
      // L1 untouched: no insert or update event for either key, and the old value still there.
      await sleep(0);
      expect(c.events.slice(before).filter((e) => e.type === "insert" || e.type === "update")).toEqual([]);
      // The failed writes suppressed both keys' L2 copies (C6): reads of them answer from L1.
      expect(await c.cache.get("k")).toBe("v1");
      expect(await c.cache.get("new")).toBeUndefined();
      if (c.readPolicy === "race") {
        expect(await c.cache.get("never-written")).toBeUndefined(); // race: error plus L1 miss is a miss
      } else {
        // Sequential on an L1 miss, and parallel always, wait for L2: under Error its failure reaches the reader.
        await expect(c.cache.get("never-written")).rejects.toThrow(
          new RegExp(`^redis GET faults:${c.namespace}:never-written failed \\(connection\\)`),
        );
      }
      await expect(c.cache.getOrLoad("load", async () => "x")).rejects.toBeInstanceOf(L2Error);
      expect(await c.cache.delete("k")).toBe(true); // C11: L1 took the delete, so it succeeds
    }

    await startRedisAgain();
    for (const c of caches) {
      await c.cache.set("k", "v3");
      expect(await c.cache.get("k")).toBe("v3");
      expect(JSON.parse((await raw.get(`faults:${c.namespace}:k`))!).value).toBe('"v3"');
    }
  });

  it("C5 Retry{attempts: 3}: connection errors are tried 3 times on the 25/50 ms schedule with jitter, then L1Only; command and timeout errors are not retried", async () => {
    const delays: number[] = [];
    const recording: Clock = {
      now: () => systemClock.now(),
      setTimeout: (fn, ms) => {
        delays.push(ms);
        return systemClock.setTimeout(fn, ms);
      },
      clearTimeout: (handle) => systemClock.clearTimeout(handle),
    };
    const seed = 99;
    const { cache: c, events } = cache<string>(a, {
      namespace: "retry",
      failureMode: { kind: "retry", attempts: 3 },
      clock: recording,
      random: createSeededRandom(seed),
    });
    const jitter = createSeededRandom(seed);
    const expected = [1, 2, 1, 2].map((retry) => retryDelayMs(retry, jitter.next()));

    await stopRedis();
    await c.set("k", "v"); // falls back to L1Only: resolves, L1 keeps it
    expect(await c.get("k")).toBe("v");
    expect(await c.get("absent")).toBeUndefined(); // L1 miss, L2 tried 3 times, then a miss
    await eventually(() => l2Errors(events).length === 6, "six l2_error events");
    const tries = l2Errors(events).map((e) => [e.operation, e.key, e.kind, e.attempt, e.willRetry]);
    expect(tries).toEqual([
      ["set", "k", "connection", 1, true],
      ["set", "k", "connection", 2, true],
      ["set", "k", "connection", 3, false],
      ["get", "absent", "connection", 1, true],
      ["get", "absent", "connection", 2, true],
      ["get", "absent", "connection", 3, false],
    ]);
    expect(delays).toEqual(expected);
    expect(delays.slice(0, 2).map((d, i) => d >= 25 * 2 ** i && d <= 25 * 2 ** i * 1.25)).toEqual([
      true,
      true,
    ]);
    expect(c.stats()).toMatchObject({ l2Retries: 4, l2Errors: 2 });

    await startRedisAgain();
    const seen = l2Errors(events).length;
    await raw.rpush("faults:retry:wrong-type", "x");
    expect(await c.get("wrong-type")).toBeUndefined();
    await redis.cli("CLIENT", "PAUSE", "1000", "ALL");
    expect(await c.get("paused")).toBeUndefined();
    await eventually(() => l2Errors(events).length === seen + 2, "two more l2_error events");
    expect(
      l2Errors(events)
        .slice(seen)
        .map((e) => [e.key, e.kind, e.attempt, e.willRetry]),
    ).toEqual([
      ["wrong-type", "command", 1, false],
      ["paused", "timeout", 1, false],
    ]);
    expect(delays).toHaveLength(4); // no wait was scheduled for either
    await eventually(async () => (await raw.ping().catch(() => "")) === "PONG", "pause over");
    await c.set("k", "after");
    expect(JSON.parse((await raw.get("faults:retry:k"))!).value).toBe('"after"');
  });
  it("C9: a bus with flushOnResubscribe drops its namespace's L1 after a reconnect (messages sent meanwhile are lost)", async () => {
    const flushing = new RedisBus({ client: b.client, prefix: "faults", flushOnResubscribe: ["flush"] });
    try {
      const onA = cache<string>(a, { namespace: "flush" });
      const onB = cache<string>(b, { namespace: "flush", bus: flushing });
      const other = cache<string>(b, { namespace: "kept", bus: flushing });
      await flushing.ready();
      await onB.cache.set("k", "old");
      await other.cache.set("k", "kept");
      await stopRedis();
      await onA.cache.set("k", "changed while the bus was down"); // L1Only: A's L1, nobody told
      expect(await onB.cache.get("k")).toBe("old");
      await startRedisAgain();
      await flushing.ready();
      expect(flushing.resubscriptions).toBe(1);
      expect(onB.cache.stats().l1Size).toBe(0);
      expect(await onB.cache.get("k")).toBeUndefined(); // Redis came back empty; no stale "old"
      expect(await other.cache.get("k")).toBe("kept"); // not listed: untouched
      await eventually(() => onB.events.some((e) => e.type === "invalidate"), "event delivered");
      expect(onB.events.filter((e) => e.type === "invalidate")).toMatchObject([
        { key: undefined, reason: "remote", remoteReason: "bus_resubscribed" },
      ]);
    } finally {
      flushing.close();
    }
  });
});
