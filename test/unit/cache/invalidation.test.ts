import { describe, expect, it } from "vitest";
import type { CacheEvent } from "../../../src/cache/cache-events.js";
import type { InvalidationBus, InvalidationMessage } from "../../../src/cache/ports.js";
import { createTieredCache } from "../../../src/cache/tiered-cache.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { createMemoryBus } from "../../../src/store/memory/memory-bus.js";
import { MemoryL2 } from "../../../src/store/memory/memory-l2.js";
import { flush, setup, summary } from "./cache-harness.js";

/** Three replicas of the "t" cache (and one of "other") over one MemoryL2 and one bus. */
function replicas(delivery: "sync" | "microtask" = "sync") {
  const clock = new ManualClock();
  const l2 = new MemoryL2({ clock });
  const hub = createMemoryBus({ delivery });
  const make = (replicaId: string, namespace = "t") => {
    const cache = createTieredCache<string>({
      namespace,
      replicaId,
      clock,
      random: createSeededRandom(1),
      l2,
      bus: hub.connect(),
    });
    const events: CacheEvent[] = [];
    cache.subscribe((e) => {
      events.push(e);
    });
    return { cache, events };
  };
  return { clock, l2, hub, a: make("a"), b: make("b"), c: make("c"), other: make("x", "other") };
}

describe("C9 cross-replica L1 invalidation", () => {
  it("C9: a set on one replica drops that key from the other replicas' L1, reason recorded", async () => {
    const { a, b, c } = replicas();
    for (const r of [a, b, c]) await r.cache.set("k", "v1");
    await flush();
    const before = a.events.length;
    await a.cache.set("k", "v2");
    expect(await b.cache.get("k")).toBe("v2"); // L1 dropped, read from L2
    expect(await c.cache.get("k")).toBe("v2");
    await flush();
    const remote = b.events.filter((e) => e.type === "invalidate" && e.reason === "remote");
    expect(remote).toEqual([expect.objectContaining({ key: "k", remoteReason: "set" })]);
    expect(a.events.slice(before).some((e) => e.type === "invalidate")).toBe(false); // own message ignored
  });

  it("C9: delete and invalidate of one key reach every other replica", async () => {
    const { a, b, c } = replicas();
    for (const r of [a, b, c]) await r.cache.set("k", "v");
    await a.cache.invalidate("k");
    await flush();
    expect(b.cache.stats().l1Size).toBe(0);
    expect(c.events.at(-1)).toMatchObject({
      type: "invalidate",
      key: "k",
      reason: "remote",
      remoteReason: "invalidate",
    });
    await b.cache.set("k", "v");
    await a.cache.delete("k");
    await flush();
    expect(b.events.at(-1)).toMatchObject({ key: "k", reason: "remote", remoteReason: "delete" });
  });

  it("C9: invalidateAll clears the namespace on every replica, and only that namespace", async () => {
    const { a, b, other } = replicas();
    await b.cache.set("k1", "v");
    await b.cache.set("k2", "v");
    await other.cache.set("k1", "v");
    await a.cache.invalidateAll();
    await flush();
    expect(b.cache.stats()).toMatchObject({ l1Size: 0, remoteInvalidations: 1 });
    expect(other.cache.stats().l1Size).toBe(1);
    expect(summary(b.events).at(-1)).toBe("invalidate:*:remote");
    expect(b.events.at(-1)).toMatchObject({ remoteReason: "invalidate_all" });
  });

  it("C9: works with asynchronous (microtask) delivery too", async () => {
    const { a, b } = replicas("microtask");
    await b.cache.set("k", "v1");
    const invalidating = a.cache.invalidate("k");
    expect(b.cache.stats().l1Size).toBe(1); // published, not yet delivered
    await invalidating;
    await flush();
    expect(b.cache.stats().l1Size).toBe(0);
  });

  it("C9: a message naming this replica as origin is ignored; close() unsubscribes", async () => {
    const handlers: ((m: InvalidationMessage) => void)[] = [];
    const bus: InvalidationBus = {
      publish: async () => {},
      subscribe: (handler) => {
        handlers.push(handler);
        return () => handlers.splice(handlers.indexOf(handler), 1);
      },
    };
    const h = setup({ bus, replicaId: "me" });
    await h.cache.set("k", "v");
    handlers[0]!({ namespace: "t", key: "k", reason: "set", origin: "me" });
    expect(h.cache.stats().l1Size).toBe(1);
    handlers[0]!({ namespace: "t", key: "k", reason: "set", origin: "them" });
    expect(h.cache.stats().l1Size).toBe(0);
    h.cache.close();
    expect(handlers).toHaveLength(0);
  });

  it("C9: a bus failure is counted and reported, never thrown", async () => {
    const bus: InvalidationBus = {
      publish: async () => {
        throw new Error("pubsub down");
      },
      subscribe: () => () => {},
    };
    const h = setup({ bus });
    await expect(h.cache.set("k", "v")).resolves.toBeUndefined();
    await flush();
    expect(h.cache.stats().busErrors).toBe(1);
    expect(h.events.some((e) => e.type === "bus_error")).toBe(true);
  });

  it("C9: a remote invalidation during a load keeps the loaded value out of L1", async () => {
    const { a, b } = replicas();
    let release: (v: string) => void = () => {};
    const loading = b.cache.getOrLoad("k", () => new Promise<string>((r) => (release = r)));
    await flush();
    await a.cache.set("k", "newer");
    release("older");
    expect(await loading).toBe("older");
    expect(await b.cache.get("k")).toBe("newer");
  });
});

describe("C10 namespaces and corrupt records", () => {
  it("C10: an empty namespace is rejected at config time", () => {
    expect(() => setup({ namespace: "" })).toThrow("cache.namespace: must not be empty");
    expect(() => setup({ namespace: "  ", name: "quota" })).toThrow(
      "cache.quota.namespace: must not be empty",
    );
  });

  it("C10: keys are namespaced in L2 and namespaces don't collide", async () => {
    const h = setup();
    await h.cache.set("k", "v");
    expect((await h.memory.get("t:k"))?.key).toBe("t:k");
    const other = h.peer({ namespace: "u" });
    expect(await other.get("k")).toBeUndefined();
  });

  it("C10: a record whose key does not match is rejected as corrupt, counted, reported, kept out of L1", async () => {
    const h = setup({ refill: "always" });
    h.l2.answer("t:k", { key: "t:someone-else", value: '"evil"', expiresAt: 0 });
    expect(await h.cache.get("k")).toBeUndefined();
    expect(await h.cache.getOrLoad("k", async () => "good")).toBe("good");
    await flush();
    expect(h.cache.stats().corrupt).toBe(2);
    expect(h.events.filter((e) => e.type === "corrupt")[0]).toMatchObject({
      key: "k",
      recordKey: "t:someone-else",
    });
    expect(summary(h.events).filter((s) => s.startsWith("insert"))).toEqual(["insert:k"]); // only the loaded value
  });

  it("C10: an undecodable value, and an adapter's corrupt error, are rejected the same way", async () => {
    const h = setup({ refill: "always" });
    h.l2.answer("t:k", { key: "t:k", value: "{not json", expiresAt: 0 });
    expect(await h.cache.get("k")).toBeUndefined();
    h.memory.plant("t:m", { key: "t:x", value: "1", expiresAt: 0 }); // MemoryL2 throws L2Error corrupt
    expect(await h.cache.get("m")).toBeUndefined();
    expect(h.cache.stats()).toMatchObject({ corrupt: 2, l2Errors: 0, l1Size: 0 });
  });
});
