/**
 * `fill` and `peek` (docs/state.md, the quota view): a value from the L2's own atomic path
 * goes into this replica's L1 alone, and a synchronous reader reads the L1 alone.
 */
import { describe, expect, it } from "vitest";
import { createTieredCache } from "../../../src/cache/tiered-cache.js";
import { createMemoryBus } from "../../../src/store/memory/memory-bus.js";
import { flush, setup } from "./cache-harness.js";

describe("fill and peek", () => {
  it("C1 fill puts a value into L1 only: no L2 write, no bus message; peek reads it and counts an L1 hit", async () => {
    const hub = createMemoryBus({ delivery: "sync" });
    const heard: string[] = [];
    hub.connect().subscribe((message) => heard.push(`${message.reason}:${message.key}`));
    const { l2, cache } = setup<string>({ bus: hub.connect(), defaultTtlMs: 0 });
    cache.fill("k", "from-script");
    await flush();
    expect(l2.calls).toEqual({ get: 0, set: 0, delete: 0 });
    expect(heard).toEqual([]);
    expect(cache.peek("k")).toBe("from-script");
    expect(await cache.get("k")).toBe("from-script");
    expect(cache.stats()).toMatchObject({ fills: 1, l1Hits: 2, l1Misses: 0, l2Hits: 0 });
  });

  it("C1 peek never asks L2 and leaves a miss for the get that follows to count", async () => {
    const { memory, cache } = setup<string>();
    await memory.set({ key: "t:k", value: JSON.stringify("shared"), expiresAt: 0 });
    expect(cache.peek("k")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ l1Hits: 0, l1Misses: 0, l2Hits: 0 });
    expect(await cache.get("k")).toBe("shared");
    expect(cache.stats()).toMatchObject({ l1Misses: 1, l2Hits: 1 });
  });

  it("C1 a filled value lives the cache's TTL, then peek misses", () => {
    const { clock, cache } = setup<string>({ defaultTtlMs: 100 });
    cache.fill("k", "v");
    clock.advance(99);
    expect(cache.peek("k")).toBe("v");
    clock.advance(1);
    expect(cache.peek("k")).toBeUndefined();
  });

  it("C9 an invalidation from another replica drops a filled value", async () => {
    const hub = createMemoryBus({ delivery: "sync" });
    const make = (replicaId: string) =>
      createTieredCache<string>({ namespace: "t", replicaId, bus: hub.connect(), defaultTtlMs: 0 });
    const a = make("a");
    const b = make("b");
    b.fill("k", "old");
    await a.invalidate("k");
    expect(b.peek("k")).toBeUndefined();
  });
});
