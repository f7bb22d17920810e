import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_ENTRIES, L1Cache, type L1Entry } from "../../../src/cache/l1-cache.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { flush, setup, summary } from "./cache-harness.js";

interface E extends L1Entry {
  readonly value: string;
}

function l1(maxEntries: number) {
  const clock = new ManualClock();
  const changes: string[] = [];
  const cache = new L1Cache<E>({
    maxEntries,
    clock,
    onChange: (type, key, reason) => changes.push(`${type}:${key ?? "*"}${reason ? `:${reason}` : ""}`),
  });
  const put = (key: string, ttlMs = 0) =>
    cache.set(key, {
      value: key,
      freshUntil: ttlMs ? clock.now() + ttlMs : 0,
      expiresAt: ttlMs ? clock.now() + ttlMs : 0,
    });
  return { clock, cache, changes, put };
}

describe("C1 L1 cache", () => {
  it("C1: capacity bound with LRU eviction (a read refreshes recency)", () => {
    const { cache, changes, put } = l1(3);
    put("a");
    put("b");
    put("c");
    cache.get("a");
    put("d");
    expect(cache.size).toBe(3);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.keysLeastRecentFirst()).toEqual(["c", "a", "d"]);
    expect(changes).toContain("invalidate:b:evicted");
    expect(cache.evictions).toBe(1);
  });

  it("C1: expired entries are reclaimed before any live LRU entry is evicted", () => {
    const { clock, cache, changes, put } = l1(3);
    put("old");
    put("short", 100);
    put("new");
    clock.advance(100);
    put("fresh");
    expect(cache.keysLeastRecentFirst()).toEqual(["old", "new", "fresh"]);
    expect(changes).toContain("invalidate:short:expired");
    expect(changes.some((c) => c.endsWith(":evicted"))).toBe(false);
    expect(cache.expirations).toBe(1);
  });

  it("C1: with nothing expired, the LRU entry is evicted even if another expires soon", () => {
    const { clock, cache, put } = l1(2);
    put("lru");
    put("soon", 100);
    clock.advance(99);
    put("x");
    expect(cache.keysLeastRecentFirst()).toEqual(["soon", "x"]);
  });

  it("C1: per-entry TTL with lazy expiry on read (expired at exactly expiresAt)", () => {
    const { clock, cache, changes, put } = l1(10);
    put("k", 1_000);
    clock.advance(999);
    expect(cache.get("k")?.value).toBe("k");
    clock.advance(1);
    expect(cache.get("k")).toBeUndefined();
    expect(changes.at(-1)).toBe("invalidate:k:expired");
  });

  it("C1: writing over an expired entry reports expired, then insert (not update)", () => {
    const { clock, changes, put } = l1(10);
    put("k", 100);
    clock.advance(100);
    put("k");
    expect(changes).toEqual(["insert:k", "invalidate:k:expired", "insert:k"]);
  });

  it("C1: sweep drops every expired entry and nothing else", () => {
    const { clock, cache, put } = l1(10);
    put("a", 100);
    put("b", 200);
    put("c");
    put("a", 300); // re-set: the old expiry must not drop it
    clock.advance(250);
    expect(cache.sweep()).toBe(1);
    expect(cache.keysLeastRecentFirst()).toEqual(["c", "a"]);
  });

  it("C1: many overwrites keep the expiry heap bounded and correct", () => {
    const { clock, cache, put } = l1(5);
    for (let i = 0; i < 10_000; i++) put(`k${i % 5}`, 1_000 + i);
    clock.advance(1_000 + 9_994);
    expect(cache.sweep()).toBe(0);
    clock.advance(10);
    expect(cache.sweep()).toBe(5);
  });

  it("C1: default capacity is 10,000 entries and the tiered cache honours it", async () => {
    expect(DEFAULT_MAX_ENTRIES).toBe(10_000);
    const { cache } = setup({ l2: undefined });
    for (let i = 0; i < 10_050; i++) await cache.set(`k${i}`, i);
    expect(cache.stats().l1Size).toBe(10_000);
    expect(cache.stats().evictions).toBe(50);
  });

  it("C1: default TTL applies, a per-entry TTL overrides it, 0 means no expiry", async () => {
    const { clock, cache } = setup({ l2: undefined, defaultTtlMs: 1_000 });
    await cache.set("default", 1);
    await cache.set("long", 2, { ttlMs: 5_000 });
    await cache.set("never", 3, { ttlMs: 0 });
    clock.advance(1_000);
    expect(await cache.get("default")).toBeUndefined();
    expect(await cache.get("long")).toBe(2);
    clock.advance(1_000_000);
    expect(await cache.get("long")).toBeUndefined();
    expect(await cache.get("never")).toBe(3);
    await expect(cache.set("bad", 4, { ttlMs: -1 })).rejects.toThrow("ttlMs");
  });

  it("C1: the optional sweep runs on the Clock and reports expirations", async () => {
    const { clock, cache, events } = setup({ l2: undefined, defaultTtlMs: 100, sweepIntervalMs: 1_000 });
    await cache.set("a", 1);
    clock.advance(999);
    await flush();
    expect(summary(events)).toEqual(["insert:a"]);
    clock.advance(1);
    await flush();
    expect(summary(events)).toEqual(["insert:a", "invalidate:a:expired"]);
    cache.close();
    expect(clock.pending()).toBe(0);
  });

  it("C1 property: size never exceeds capacity, and matches a reference model", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("set" as const), key: fc.integer({ min: 0, max: 7 }), ttl: fc.nat(30) }),
      fc.record({ kind: fc.constant("get" as const), key: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("tick" as const), ms: fc.nat(20) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (max, ops) => {
        const { clock, cache, put } = l1(max);
        // Reference: array in LRU order (least recent first) of [key, expiresAt, set order].
        let model: [string, number, number][] = [];
        let seq = 0;
        const live = (e: [string, number, number]) => e[1] === 0 || clock.now() < e[1];
        for (const o of ops) {
          if (o.kind === "tick") {
            clock.advance(o.ms);
            continue;
          }
          const key = `k${o.key}`;
          const index = model.findIndex((e) => e[0] === key);
          if (o.kind === "get") {
            const found = index >= 0 ? model[index]! : undefined;
            if (found) model.splice(index, 1);
            if (found && live(found)) model.push(found);
            expect(cache.get(key)?.value).toBe(found && live(found) ? key : undefined);
            continue;
          }
          if (index >= 0) model.splice(index, 1);
          else if (model.length >= max) {
            const expired = model.filter((e) => !live(e)).sort((x, y) => x[1] - y[1] || x[2] - y[2])[0];
            model = model.filter((e) => e !== (expired ?? model[0]));
          }
          model.push([key, o.ttl ? clock.now() + o.ttl : 0, seq++]);
          put(key, o.ttl);
          expect(cache.size).toBeLessThanOrEqual(max);
        }
        expect(cache.keysLeastRecentFirst()).toEqual(model.map((e) => e[0]));
      }),
      { numRuns: 1000 },
    );
  });
});
